"""Intake: turning what arrives (site SAE forms, E2B messages) into case data, and deciding
whether it is a valid case."""
