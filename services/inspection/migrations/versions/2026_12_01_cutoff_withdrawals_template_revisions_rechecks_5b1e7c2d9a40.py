"""cutoff withdrawals, template revisions, re-check overdue

Revision ID: 5b1e7c2d9a40
Revises: aec04ca56bcd
Create Date: 2026-12-01 13:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e7c2d9a40"
down_revision: str | Sequence[str] | None = "aec04ca56bcd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cutoff_findings") as batch:
        batch.add_column(sa.Column("withdrawn_event_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("task_templates") as batch:
        # existing templates start at revision 1, as new ones do
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("hazard_evidence") as batch:
        batch.add_column(sa.Column("recheck_overdue_event_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hazard_evidence") as batch:
        batch.drop_column("recheck_overdue_event_id")
    with op.batch_alter_table("task_templates") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("revision")
    with op.batch_alter_table("cutoff_findings") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("withdrawn_event_id")
