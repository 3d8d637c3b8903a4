"""Scoring domain: pure rules of the indicator model and the grade rules (no I/O)."""

from shared.contracts.vocabulary import GRADES, MANAGEMENT_KEYS, Grade, ManagementKey
from shared.locality import business_date

from .compute import BreakdownLine, GroupTotal, ScoreResult, compute_score
from .evaluation import Scored, SerializedJSON, ceiling_since, dump_json, evaluate
from .facts import (
    AccidentFact,
    CaseFact,
    EnterpriseFacts,
    EquipmentFact,
    HazardFact,
    ManagementFact,
    MissingRecordsDayFact,
    OperatorFact,
    PatrolFact,
    PenaltyFact,
    SelfInspectionTaskFact,
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
    DEFAULT_GRADE_LABELS,
    DEFAULT_MODEL_PATH,
    GradePolicy,
    IndicatorSpec,
    Labels,
    ModelValidationError,
    ScoringModel,
    default_model,
    load_model,
    parse_model,
)
from .projection import EnterpriseRows, aware, facts_from_rows, is_newer, profile_values
from .statistics import count_grades, grades_held_on, month_ends

__all__ = [
    # inputs
    "GRADES", "MANAGEMENT_KEYS", "Grade", "ManagementKey", "EnterpriseFacts", "ManagementFact", "EquipmentFact",
    "OperatorFact", "SelfInspectionTaskFact", "HazardFact", "MissingRecordsDayFact", "PatrolFact", "CaseFact",
    "PenaltyFact", "AccidentFact", "business_date", "resolve_management",
    # the model file
    "DEFAULT_GRADE_LABELS", "DEFAULT_MODEL_PATH", "INDICATOR_KINDS", "GradePolicy", "IndicatorSpec", "Labels",
    "ModelValidationError", "ScoringModel",
    "default_model", "load_model", "parse_model",
    # the score
    "BreakdownLine", "GroupTotal", "ScoreResult", "compute_score",
    # the grade rules
    "Eligibility", "GradeDecision", "GradePeriod", "ManualAdjustment", "RuleApplied", "check_repair_eligibility",
    "decide_grade",
    # the projection's rows → facts, and a rescoring's pure step
    "EnterpriseRows", "aware", "facts_from_rows", "is_newer", "profile_values",
    "Scored", "SerializedJSON", "ceiling_since", "dump_json", "evaluate",
    # statistics
    "count_grades", "grades_held_on", "month_ends",
]
