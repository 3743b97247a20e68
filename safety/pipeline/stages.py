"""The processing stages of a case version and the function that does each, by reference.

The order is the domain's (``safety.cases.workflow.Stage``); each function lives in its
feature and takes ``(session, case_version, settings)``.
"""

from __future__ import annotations

from safety.cases.progress import StageFunction
from safety.cases.workflow import Stage
from safety.coding.service import code_stage
from safety.dedup.service import screen_stage
from safety.rules.evaluation import evaluate_stage
from safety.submissions.drafting import draft_stage

STAGE_FUNCTIONS: dict[Stage, StageFunction] = {
    Stage.CODING: code_stage,
    Stage.DEDUP: screen_stage,
    Stage.RULES: evaluate_stage,
    Stage.SUBMISSIONS: draft_stage,
}

FIRST_STAGE = next(iter(Stage))
