"""Tables of the portal service.

The read model (读模型: built only from events, never from another service's database):
enterprises with their latest grade, their association memberships, their equipment, the
jurisdiction tree's names, the alerts enforcement raised, grade changes (for trends) and closed
self-inspection tasks; the QR tokens scanned so far with what registry's public resolution said
of them. The portal's own writes: public ratings (moderated), problem reports (with a receipt the
reporter follows) and their photos, and associations' notices to their members.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, BigId, PlatformTables, new_metadata, utcnow

USCC = String(18)
CODE = String(12)
EVENT_ID = String(100)


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


# --- the read model ------------------------------------------------------------------------

class EnterpriseRow(Base):
    """An enterprise (使用单位) as registry's latest snapshot has it (no personal data: registry's
    snapshots carry none), and its latest grade. Revision 0: a placeholder (a score arrived first)."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(200))
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE, index=True)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    venue_type: Mapped[str | None] = mapped_column(String(40))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    operating: Mapped[bool] = mapped_column(Boolean, default=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    snapshot_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    # the latest score.updated (ordered by computed_at) and since when the grade holds
    grade: Mapped[str | None] = mapped_column(String(1))
    score: Mapped[float | None] = mapped_column(Float)
    scored_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    grade_since: Mapped[datetime | None] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


class JurisdictionRow(Base):
    """A node of registry's jurisdiction tree, by name (registry's ``jurisdiction.loaded``): what
    the map's outlines are labelled with. Registry's nodes carry no boundary; the outlines are
    drawn around the units' points (domain/outlines.py)."""

    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(CODE)


class EnterpriseAssociation(Base):
    """Which industry association (行业协会) counts an enterprise among its members."""

    __tablename__ = "enterprise_associations"

    association: Mapped[str] = mapped_column(String(200), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)


class EquipmentRow(Base):
    """One piece of special equipment, as registry's latest snapshot has it."""

    __tablename__ = "equipment"

    equipment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(8))
    registration_no: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    next_inspection_due: Mapped[date | None] = mapped_column(Date)
    last_inspection_date: Mapped[date | None] = mapped_column(Date)


class AlertRow(Base):
    """An alert enforcement raised, and the status it was last moved to."""

    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, index=True)
    kind: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    cause_event_id: Mapped[str] = mapped_column(EVENT_ID, index=True)
    raised_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status_at: Mapped[datetime] = mapped_column(AwareDateTime())


class GradeChange(Base):
    """A unit's grade from a moment on (each change the latest score brought): the trend's source."""

    __tablename__ = "grade_changes"
    __table_args__ = (Index("ix_grade_changes_uscc_since", "uscc", "since"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(USCC)
    grade: Mapped[str] = mapped_column(String(1))
    since: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)


class TaskOutcome(Base):
    """A self-inspection task whose window closed (inspection's task.closed), done or not."""

    __tablename__ = "task_outcomes"

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    completed: Mapped[bool] = mapped_column(Boolean)


class QrTokenRow(Base):
    """A scanned token and what registry's public resolution answered (its events carry no QR
    tokens): re-checked after ``qr_recheck_s``, so a revoked label stops resolving within that."""

    __tablename__ = "qr_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    uscc: Mapped[str] = mapped_column(USCC, index=True)
    name: Mapped[str] = mapped_column(String(200))
    equipment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_at: Mapped[datetime] = mapped_column(AwareDateTime())


# --- the portal's own writes ---------------------------------------------------------------

class Rating(Base):
    """A public rating (1-5); its comment is shown only once a moderator approved it. A rating
    without a comment needs no moderation and counts at once."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_status_submitted", "status", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, index=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending, approved, rejected
    submitted_at: Mapped[datetime] = mapped_column(AwareDateTime())
    moderated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    moderated_by: Mapped[str | None] = mapped_column(String(128))


class Report(Base):
    """A problem the public reported (via a QR page or Open311), followed by its receipt."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt: Mapped[str] = mapped_column(String(64), unique=True)
    uscc: Mapped[str] = mapped_column(USCC, index=True)
    equipment_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(EVENT_ID, unique=True)
    status: Mapped[str] = mapped_column(String(20))  # received, in_progress, resolved
    alert_id: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status_at: Mapped[datetime] = mapped_column(AwareDateTime())


class ReportPhoto(Base):
    """A report's photo (JPEG, PNG or WebP), kept with the report."""

    __tablename__ = "report_photos"

    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Notice(Base):
    """A notice an industry association (行业协会) sent its members."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    association: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(AwareDateTime())


class NoticeRecipient(Base):
    """A member a notice was addressed to (members at the time it was sent)."""

    __tablename__ = "notice_recipients"
    __table_args__ = (Index("ix_notice_recipients_uscc_notice", "uscc", "notice_id"),)

    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
