"""Cases: the case model (close to the E2B(R3) sections), what a new report makes of a case
(versioning), the workflow state machine, and the stored cases and versions."""
