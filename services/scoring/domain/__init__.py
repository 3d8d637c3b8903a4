"""Scoring domain: pure rules of the indicator model and the grade rules (no I/O)."""

from .compute import BreakdownLine, GroupTotal, ScoreResult, compute_score
from .facts import (
    AccidentFact,
    CaseFact,
    EnterpriseFacts,
    EquipmentFact,
    Grade,
    HazardFact,
    ManagementFact,
    ManagementKey,
    MissingRecordsDayFact,
    OperatorFact,
    PatrolFact,
    PenaltyFact,
    SelfInspectionTaskFact,
    business_date,
    resolve_management,
)
from .grade_rules import (
    Eligibility,
    GradeDecision,
    GradePeriod,
    ManualAdjustment,
    RuleApplied,
    check_repair_eligibility,
    decide_grade,
)
from .indicators import INDICATOR_KINDS
from .model_file import (
    DEFAULT_MODEL_PATH,
    GradePolicy,
    IndicatorSpec,
    ModelValidationError,
    ScoringModel,
    default_model,
    load_model,
    parse_model,
)

__all__ = [
    "AccidentFact", "BreakdownLine", "CaseFact", "DEFAULT_MODEL_PATH", "Eligibility", "EnterpriseFacts",
    "EquipmentFact", "Grade", "GradeDecision", "GradePeriod", "GradePolicy", "GroupTotal", "HazardFact",
    "INDICATOR_KINDS", "IndicatorSpec", "ManagementFact", "ManagementKey", "ManualAdjustment",
    "MissingRecordsDayFact", "ModelValidationError", "OperatorFact", "PatrolFact", "PenaltyFact",
    "RuleApplied", "ScoreResult", "ScoringModel", "SelfInspectionTaskFact", "business_date",
    "check_repair_eligibility", "compute_score", "decide_grade", "default_model", "load_model",
    "parse_model", "resolve_management",
]
