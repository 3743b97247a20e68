"""The audit trail (21 CFR 11.10(e), EU GMP Annex 11 §9): ``safety.audit.store``."""
