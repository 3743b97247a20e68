"""Submissions: the E2B(R3) messages owed to each regulator, from draft to acknowledgement."""
