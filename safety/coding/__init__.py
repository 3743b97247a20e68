"""Terminology and coding: MedDRA-style and drug dictionaries, the autocoder, and the
pipeline stage that codes every term of a new case version."""
