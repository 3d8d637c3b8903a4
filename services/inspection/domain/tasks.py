"""Self-inspection tasks (自查任务) and the 五定 rules a submission is held to: its time window
(定时), its geofence (定位), its assignee (定人), its scene with a photo taken there (定景) and its
matters, the checklist items (定事). Also the periods of recurring templates (SAMR Order 74:
日管控 daily, 周排查 weekly, 月调度 monthly) and the deadlines of hazards (隐患).

Pure: the service hands in the facts (the task as stored, the submission as received, the
moments) and gets back every rule broken, each with the exact field and reason; the task's
policy says for each rule whether breaking it rejects the submission or only flags it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from shared.workdays import add_working_days

Cycle = Literal["daily", "weekly", "monthly", "adhoc"]
Rule = Literal["time", "location", "assignee", "scene", "matters"]
Action = Literal["reject", "flag"]
Severity = Literal["general", "major"]
RULES: tuple[Rule, ...] = ("time", "location", "assignee", "scene", "matters")
EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class Finding:
    """A 五定 rule a submission broke (or, for ``mock_location`` and ``late_offline``, a fact the
    rule notes): ``rule`` is one of RULES, ``field`` the submission's field at fault."""

    rule: Rule
    code: str
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "code": self.code, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Fence:
    """定位: a circle around a centre (WGS-84 degrees), radius in metres."""

    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class Assignee:
    """定人: an enterprise user (the ``sub`` of their token) or an operator of the ledger."""

    kind: Literal["user", "operator"]
    id: str


@dataclass(frozen=True)
class Scene:
    """定景: a piece of equipment (its ledger id) or a named spot, and whether a photo is required."""

    equipment_id: str | None
    spot: str | None
    photo_required: bool = True


@dataclass(frozen=True)
class TaskFacts:
    window_start: datetime
    window_end: datetime
    fence: Fence
    assignee: Assignee | None
    scene: Scene
    matters: Sequence[str]  # the checklist item codes
    policy: Mapping[str, Action]


@dataclass(frozen=True)
class SubmissionFacts:
    device_time: datetime
    server_time: datetime
    lat: float
    lon: float
    gps_accuracy_m: float
    mock_location: bool
    submitted_by: str
    operator_id: str | None
    equipment_id: str | None
    spot: str | None
    photos: int
    results: Mapping[str, bool]  # item code -> passed


@dataclass(frozen=True)
class Limits:
    """From the settings: how late an offline submission may arrive after its window closed, how
    far ahead of the server the device's clock may run, the worst GPS accuracy accepted."""

    grace: timedelta
    max_clock_skew: timedelta
    max_gps_accuracy_m: float


@dataclass
class Judgement:
    rejected: list[Finding] = field(default_factory=list)
    flagged: list[Finding] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.rejected


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _time(task: TaskFacts, sub: SubmissionFacts, limits: Limits) -> tuple[list[Finding], list[Finding]]:
    """(broken, notes). Judged by device time against the window: an offline submission keeps the
    moment it was made. The device clock may not run ahead of the server's by more than the skew
    bound; a submission may arrive after the window only within the grace period."""
    broken, notes = [], []
    if sub.device_time > sub.server_time + limits.max_clock_skew:
        broken.append(Finding("time", "clock_skew", "device_time", (
            f"device_time {sub.device_time.isoformat()} is ahead of the server's clock "
            f"({sub.server_time.isoformat()}) by more than {_seconds(limits.max_clock_skew)}")))
    if sub.device_time < task.window_start:
        broken.append(Finding("time", "before_window", "device_time", (
            f"device_time {sub.device_time.isoformat()} is before the task's window opens "
            f"({task.window_start.isoformat()})")))
    elif sub.device_time > task.window_end:
        broken.append(Finding("time", "after_window", "device_time", (
            f"device_time {sub.device_time.isoformat()} is after the task's window closed "
            f"({task.window_end.isoformat()})")))
    if sub.server_time > task.window_end + limits.grace:
        broken.append(Finding("time", "past_grace", "device_time", (
            f"arrived at {sub.server_time.isoformat()}, after the window closed ({task.window_end.isoformat()}) "
            f"and its grace period of {_seconds(limits.grace)} ended")))
    elif sub.server_time > task.window_end and not broken:
        notes.append(Finding("time", "late_offline", "device_time", (
            f"made at {sub.device_time.isoformat()} inside the window, arrived at {sub.server_time.isoformat()} "
            f"after it closed ({task.window_end.isoformat()}), within the grace period")))
    return broken, notes


def _seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s"


def _location(task: TaskFacts, sub: SubmissionFacts, limits: Limits) -> tuple[list[Finding], list[Finding]]:
    broken, notes = [], []
    if sub.mock_location:
        notes.append(Finding("location", "mock_location", "mock_location",
                             "the device reported a mock (simulated) location"))
    if sub.gps_accuracy_m > limits.max_gps_accuracy_m:
        broken.append(Finding("location", "gps_inaccurate", "gps_accuracy_m", (
            f"GPS accuracy {sub.gps_accuracy_m:g} m is worse than the {limits.max_gps_accuracy_m:g} m accepted")))
        return broken, notes
    away = distance_m(task.fence.lat, task.fence.lon, sub.lat, sub.lon)
    if away - sub.gps_accuracy_m > task.fence.radius_m:
        broken.append(Finding("location", "outside_fence", "location", (
            f"({sub.lat:.6f}, {sub.lon:.6f}) lies {away:.0f} m from the fence centre "
            f"({task.fence.lat:.6f}, {task.fence.lon:.6f}); the fence's radius is {task.fence.radius_m:g} m "
            f"(GPS accuracy {sub.gps_accuracy_m:g} m)")))
    return broken, notes


def _assignee(task: TaskFacts, sub: SubmissionFacts) -> list[Finding]:
    if task.assignee is None:
        return [Finding("assignee", "unassigned", "assignee",
                        "the task has no assignee yet: the enterprise assigns it before it is done")]
    if task.assignee.kind == "user" and sub.submitted_by != task.assignee.id:
        return [Finding("assignee", "wrong_assignee", "submitted_by",
                        f"submitted by {sub.submitted_by}, but the task is assigned to user {task.assignee.id}")]
    if task.assignee.kind == "operator" and sub.operator_id != task.assignee.id:
        return [Finding("assignee", "wrong_assignee", "operator_id", (
            f"operator_id {sub.operator_id or '(none)'} is not the task's assignee, operator {task.assignee.id}"))]
    return []


def _scene(task: TaskFacts, sub: SubmissionFacts) -> list[Finding]:
    broken = []
    if task.scene.equipment_id is not None and sub.equipment_id != task.scene.equipment_id:
        broken.append(Finding("scene", "wrong_scene", "equipment_id", (
            f"equipment_id {sub.equipment_id or '(none)'} is not the task's scene, equipment "
            f"{task.scene.equipment_id}")))
    if task.scene.spot is not None and sub.spot != task.scene.spot:
        broken.append(Finding("scene", "wrong_scene", "spot",
                              f"spot {sub.spot or '(none)'} is not the task's scene, spot {task.scene.spot}"))
    if task.scene.photo_required and sub.photos == 0:
        broken.append(Finding("scene", "photo_missing", "photos", "the task requires a photo taken at its scene"))
    return broken


def _matters(task: TaskFacts, sub: SubmissionFacts) -> list[Finding]:
    return [Finding("matters", "matter_missing", f"results.{code}",
                    f"checklist item {code} has no result") for code in task.matters if code not in sub.results]


def judge(task: TaskFacts, sub: SubmissionFacts, limits: Limits) -> Judgement:
    """Check a submission against all five; each broken rule rejects or flags as the task's
    policy says (default: reject). Notes (mock location, late offline arrival) always flag."""
    out = Judgement()
    time_broken, time_notes = _time(task, sub, limits)
    where_broken, where_notes = _location(task, sub, limits)
    for finding in [*time_broken, *where_broken, *_assignee(task, sub), *_scene(task, sub), *_matters(task, sub)]:
        (out.flagged if task.policy.get(finding.rule, "reject") == "flag" else out.rejected).append(finding)
    out.flagged.extend([*time_notes, *where_notes])
    return out


# --- recurring templates -------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """One occurrence of a recurring template: its key (idempotency), first and last day."""

    key: str
    first_day: date
    last_day: date


def period_of(cycle: Cycle, day: date) -> Period:
    """The day (日管控), ISO week (周排查, Monday to Sunday) or month (月调度) containing ``day``."""
    if cycle == "daily":
        return Period(day.isoformat(), day, day)
    if cycle == "weekly":
        year, week, weekday = day.isocalendar()
        monday = day - timedelta(days=weekday - 1)
        return Period(f"{year}-W{week:02d}", monday, monday + timedelta(days=6))
    if cycle == "monthly":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(f"{day.year}-{day.month:02d}", first, following - timedelta(days=1))
    raise ValueError(f"an {cycle} template has no periods: its tasks are issued one by one")


def window_of(period: Period, opens_at: time, closes_at: time, tz) -> tuple[datetime, datetime]:  # type: ignore[no-untyped-def]
    """The occurrence's window: from ``opens_at`` on its first day to ``closes_at`` on its last, or
    on the day after its last when ``closes_at`` is not after ``opens_at`` (a night shift's 22:00
    to 06:00; equal times: a full day)."""
    last = period.last_day + timedelta(days=1) if closes_at <= opens_at else period.last_day
    return (datetime.combine(period.first_day, opens_at, tzinfo=tz), datetime.combine(last, closes_at, tzinfo=tz))


# --- hazards (隐患) --------------------------------------------------------------------------------

def rectification_deadline(raised_on: date, severity: Severity, days: Mapping[str, int]) -> date:
    """The date by which a hazard must be rectified: ``days[severity]`` calendar days after it
    was raised (policy by severity, from the settings)."""
    return raised_on + timedelta(days=days[severity])


def recheck_due(evidence_on: date, working_days: int = 10) -> date:
    """A regulator re-checks a rectification within 10 working days (domain.md §7) of the evidence:
    weekends and public holidays do not count, make-up working days (调休) do."""
    return add_working_days(evidence_on, working_days)


def is_overdue(deadline: date, today: date, status: str) -> bool:
    """Past its deadline with nothing pending: an open hazard (no evidence awaiting verification,
    or its evidence rejected) whose deadline day has ended."""
    return status == "open" and today > deadline
