"""Duplicate and follow-up detection: comparison profiles, blocking, scoring with explanations,
the screening stage and the batch scan."""
