"""The indicator model file (指标模型): groups, indicators, grade bands and grade policy as data.

A city changes its model by publishing a new versioned file, never by changing code. A file
that does not validate is refused as a whole with a message naming each faulty field.
"""

import functools
from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.contracts.vocabulary import GRADES, Grade

from .indicators import INDICATOR_KINDS, Params

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "model_files" / "rizhao-2026.1.yaml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ModelValidationError(ValueError):
    """The model file is not a valid model; `problems` lists "field: what is wrong" lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid scoring model:\n" + "\n".join(f"  - {p}" for p in problems))

    @classmethod
    def from_pydantic(cls, error: ValidationError) -> "ModelValidationError":
        problems = []
        for e in error.errors():
            where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in e["loc"])
            # A model-wide check reports several problems, one per line.
            for message in e["msg"].removeprefix("Value error, ").splitlines():
                problems.append(f"{where.lstrip('.')}: {message}" if where else message)
        return cls(problems)


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Labels(Spec):
    """Plain-language names an enterprise understands, in Chinese and English."""

    zh: Text
    en: Text


class GroupSpec(Spec):
    """An indicator group (指标组) and the most points it may add to the score."""

    id: Text
    cap: float = Field(ge=0)
    labels: Labels


class IndicatorSpec(Spec):
    """One indicator (指标): what kind of measure, its points, max, window and labels."""

    id: Text
    group: Text
    kind: str
    points: float | None = Field(default=None, ge=0)
    max_points: float | None = Field(default=None, ge=0)
    window_days: int | None = Field(default=None, gt=0)
    window_years: int | None = Field(default=None, gt=0)
    labels: Labels
    params: dict[str, Any] = {}
    _settings: Params = PrivateAttr()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in INDICATOR_KINDS:
            raise ValueError(f"unknown indicator kind {kind!r}; known kinds: {', '.join(INDICATOR_KINDS)}")
        return kind

    @model_validator(mode="after")
    def _fits_its_kind(self) -> "IndicatorSpec":
        kind = INDICATOR_KINDS[self.kind]
        name = f"indicator {self.id!r} ({self.kind})"
        if kind.needs_points and self.points is None:
            raise ValueError(f"{name}: points is required")
        if not kind.needs_points and self.points is not None:
            raise ValueError(f"{name}: points must be left out, this kind takes its points from params")
        if self.max_points is not None and self.points is not None and self.max_points < self.points:
            raise ValueError(f"{name}: max_points {self.max_points:g} is below points {self.points:g}")
        has_window = [self.window_days is not None, self.window_years is not None]
        if kind.windowed and sum(has_window) != 1:
            raise ValueError(f"{name}: exactly one of window_days or window_years is required")
        if not kind.windowed and any(has_window):
            raise ValueError(f"{name}: this kind takes no window_days or window_years")
        try:
            self._settings = kind.params.model_validate(self.params)
        except ValidationError as e:
            problems = ModelValidationError.from_pydantic(e).problems
            raise ValueError(f"{name}: params." + "; params.".join(problems)) from None
        return self

    @property
    def settings(self) -> Any:
        """The validated kind-specific params."""
        # Read the private slot directly: pydantic's __getattr__ path costs more than the
        # evaluators themselves on a full rescore.
        return self.__pydantic_private__["_settings"]

    @property
    def window(self) -> dict[str, int | None]:
        return {"days": self.window_days, "years": self.window_years}

    @property
    def window_words(self) -> str:
        if self.window_days is not None:
            return f"in the last {self.window_days} days"
        return f"in the last {self.window_years} years"


class BandSpec(Spec):
    """A grade band: scores in [lower, upper) get this grade; the last band includes its upper.

    `labels` name the grade in plain words (e.g. 低风险 / low risk): what the public sees under
    `public_grade_display: label`, and what an enterprise reads beside its letter.
    """

    grade: Grade
    lower: float
    upper: float
    labels: Labels | None = None


# Plain-language names of the grades when a model file gives none (credit risk classes).
DEFAULT_GRADE_LABELS: dict[str, Labels] = {
    "A": Labels(zh="低风险", en="low risk"),
    "B": Labels(zh="一般风险", en="moderate risk"),
    "C": Labels(zh="较高风险", en="elevated risk"),
    "D": Labels(zh="高风险", en="high risk"),
}


class PatrolFindingsSpec(Spec):
    """How long the latest patrol's findings on items 9-12 count."""

    window_days: int = Field(default=365, gt=0)


class GradePolicy(Spec):
    """The grade rules' settings (§6): locks, ceiling and what the public sees."""

    accident_lock_years: int = Field(default=3, gt=0)
    ceiling_window_days: int = Field(default=365, gt=0)
    ceiling_best_grade: Grade = "B"
    repair_accident_free_years: int = Field(default=3, gt=0)
    public_grade_display: Literal["grade", "label", "hidden"] = "grade"


class ScoringModel(Spec):
    """A versioned indicator model: what scores, how much, and what the score means."""

    model_version: Text
    effective_from: date
    labels: Labels | None = None
    groups: list[GroupSpec] = Field(min_length=1)
    indicators: list[IndicatorSpec] = Field(min_length=1)
    bands: list[BandSpec]
    patrol_findings: PatrolFindingsSpec = PatrolFindingsSpec()
    policy: GradePolicy = GradePolicy()

    @model_validator(mode="after")
    def _consistent(self) -> "ScoringModel":
        problems = [*self._id_problems(), *self._band_problems()]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _id_problems(self) -> list[str]:
        problems = []
        for name, ids in (("groups", [g.id for g in self.groups]),
                          ("indicators", [i.id for i in self.indicators])):
            duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
            if duplicates:
                problems.append(f"{name}: duplicate id {', '.join(map(repr, duplicates))}")
        group_ids = {g.id for g in self.groups}
        for n, indicator in enumerate(self.indicators):
            if indicator.group not in group_ids:
                problems.append(f"indicators[{n}].group: unknown group {indicator.group!r} "
                                f"(groups: {', '.join(sorted(group_ids))})")
            elif not indicator.id.startswith(f"{indicator.group}."):
                problems.append(f"indicators[{n}].id: {indicator.id!r} must start with its group "
                                f"'{indicator.group}.'")
        used = {i.group for i in self.indicators}
        problems += [f"groups: group {g!r} has no indicators" for g in sorted(group_ids - used)]
        return problems

    def _band_problems(self) -> list[str]:
        grades = tuple(b.grade for b in self.bands)
        if grades != GRADES:
            return [f"bands: grades must be {', '.join(GRADES)} in this order, "
                    f"got {', '.join(grades) or 'none'}"]
        problems = []
        if self.bands[0].lower != 0:
            problems.append(f"bands[0].lower: must be 0, got {self.bands[0].lower:g}")
        for n, (band, following) in enumerate(zip(self.bands, self.bands[1:], strict=False)):
            if band.upper != following.lower:
                problems.append(f"bands[{n}].upper: {band.upper:g} must equal bands[{n + 1}].lower "
                                f"{following.lower:g} (bands must be contiguous)")
        for n, band in enumerate(self.bands):
            if band.upper <= band.lower:
                problems.append(f"bands[{n}]: upper {band.upper:g} must be above lower {band.lower:g}")
        if self.bands[-1].upper != 100:
            problems.append(f"bands[{len(self.bands) - 1}].upper: must be 100, got {self.bands[-1].upper:g}")
        return problems

    def grade_label(self, grade: Grade) -> Labels:
        """The plain-language name of a grade: the band's labels, else the default ones."""
        band = next((b for b in self.bands if b.grade == grade), None)
        return band.labels if band is not None and band.labels is not None else DEFAULT_GRADE_LABELS[grade]

    def grade_for(self, score: float) -> Grade:
        """The grade band a score falls in; the last band includes 100."""
        for band in self.bands:
            if band.lower <= score < band.upper:
                return band.grade
        return self.bands[-1].grade if score >= self.bands[-1].upper else self.bands[0].grade


def parse_model(data: Mapping[str, Any]) -> ScoringModel:
    """Validate an already-parsed model document."""
    if not isinstance(data, Mapping):
        raise ModelValidationError([f"the model must be a mapping of fields, got {type(data).__name__}"])
    try:
        return ScoringModel.model_validate(data)
    except ValidationError as e:
        raise ModelValidationError.from_pydantic(e) from None


def load_model(path_or_text: Path | str) -> ScoringModel:
    """Load a model from a file (a Path, or a str ending in .yaml/.yml) or from YAML text."""
    if isinstance(path_or_text, Path) or _looks_like_path(path_or_text):
        text = Path(path_or_text).read_text(encoding="utf-8")
    else:
        text = path_or_text
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ModelValidationError([f"not valid YAML: {e}"]) from None
    return parse_model(data)


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and text.strip().endswith((".yaml", ".yml"))


@functools.cache
def default_model() -> ScoringModel:
    """The default model, rizhao-2026.1 (domain.md §5)."""
    return load_model(DEFAULT_MODEL_PATH)
