"""Case review: the workflow state machine, who may do what, what changed between versions,
and what an electronic signature binds to. Plain Python; the web shell is ``safety.web``."""
