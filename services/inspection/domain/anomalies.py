"""What ingest flags on a filling record (气瓶充装记录, TSG 23; domain.md §9): the rules, one
function each, over the record and what the ledger projection knows of its cylinder and operator.

Serious (on-site enforcement whatever the grade): filling a cylinder past its next periodic
inspection date, or past its scrap date (or one the ledger holds as scrapped). General: a
cylinder the ledger does not know, a fill between 00:00 and 05:00 business time, a failed
pre- or post-fill check, an operator whose certificate is unknown or expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from shared.contracts.inspection import AnomalyKind
from shared.locality import BUSINESS_TIMEZONE

NIGHT_STARTS, NIGHT_ENDS = time(0, 0), time(5, 0)
SERIOUS: frozenset[str] = frozenset({"expired_cylinder", "scrapped_cylinder"})


@dataclass(frozen=True)
class CylinderFacts:
    """A gas cylinder (气瓶) as the registry's latest snapshot has it."""

    next_inspection_date: date | None
    scrap_date: date | None
    scrapped: bool = False


@dataclass(frozen=True)
class OperatorFacts:
    """An operator (作业人员) holding a certificate, as the registry has them."""

    certificate_valid_until: date | None
    active: bool = True


@dataclass(frozen=True)
class Anomaly:
    kind: AnomalyKind
    detail: str

    @property
    def severity(self) -> str:
        return "serious" if self.kind in SERIOUS else "general"


def fill_date(filled_at: datetime) -> date:
    return filled_at.astimezone(BUSINESS_TIMEZONE).date()


def is_night_fill(filled_at: datetime) -> bool:
    """00:00 <= business (Asia/Shanghai) wall time < 05:00."""
    wall = filled_at.astimezone(BUSINESS_TIMEZONE).time()
    return NIGHT_STARTS <= wall < NIGHT_ENDS


def cylinder_anomalies(cylinder_no: str, day: date, cylinder: CylinderFacts | None) -> list[Anomaly]:
    """``day``: the fill's business date (``fill_date``)."""
    if cylinder is None:
        return [Anomaly("unknown_cylinder", f"cylinder {cylinder_no} is not in the filling unit's ledger")]
    found: list[Anomaly] = []
    if cylinder.scrapped:
        found.append(Anomaly("scrapped_cylinder", f"cylinder {cylinder_no} is recorded as scrapped"))
    elif cylinder.scrap_date is not None and day > cylinder.scrap_date:
        found.append(Anomaly("scrapped_cylinder", f"filled on {day}, past its scrap date {cylinder.scrap_date}"))
    if cylinder.next_inspection_date is not None and day > cylinder.next_inspection_date:
        found.append(Anomaly("expired_cylinder",
                             f"filled on {day}, past its periodic inspection date {cylinder.next_inspection_date}"))
    return found


def operator_anomalies(certificate_no: str | None, day: date, operator: OperatorFacts | None) -> list[Anomaly]:
    """``day``: the fill's business date (``fill_date``)."""
    if not certificate_no:
        return [Anomaly("operator_uncertified", "no operator certificate number was recorded")]
    if operator is None or not operator.active:
        return [Anomaly("operator_uncertified",
                        f"certificate {certificate_no} belongs to no active operator of the filling unit")]
    if operator.certificate_valid_until is None:
        return [Anomaly("operator_uncertified", f"certificate {certificate_no} has no known validity")]
    if day > operator.certificate_valid_until:
        return [Anomaly("operator_uncertified",
                        f"certificate {certificate_no} expired on {operator.certificate_valid_until}")]
    return []


def record_anomalies(*, cylinder_no: str, filled_at: datetime, pre_check_passed: bool, post_check_passed: bool,
                     operator_cert_no: str | None, cylinder: CylinderFacts | None,
                     operator: OperatorFacts | None) -> list[Anomaly]:
    """Every rule a filling record breaks, serious ones first."""
    local = filled_at.astimezone(BUSINESS_TIMEZONE)  # once: the date and the night rule both read it
    day = local.date()
    found = cylinder_anomalies(cylinder_no, day, cylinder)
    if NIGHT_STARTS <= local.time() < NIGHT_ENDS:
        found.append(Anomaly("night_fill", f"filled at {local.strftime('%H:%M')} business time (00:00-05:00)"))
    if not pre_check_passed:
        found.append(Anomaly("failed_pre_check", "the pre-fill check failed (appearance, residual pressure, dates)"))
    if not post_check_passed:
        found.append(Anomaly("failed_post_check", "the post-fill check failed (leak, re-weigh)"))
    found += operator_anomalies(operator_cert_no, day, operator)
    return sorted(found, key=lambda a: a.severity != "serious") if len(found) > 1 else found
