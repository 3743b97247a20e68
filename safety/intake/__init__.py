"""Intake: reports in (site SAE forms, E2B messages), the one way they are stored, whether
they are valid cases, and what each becomes."""
