"""outbox replay epoch

Revision ID: 9c3618973651
Revises: c0e7a3f41b28
Create Date: 2026-12-01 19:00:00

"""
from collections.abc import Sequence

from shared.platform_migrations import downgrade_outbox_epoch_v2, upgrade_outbox_epoch_v2

# revision identifiers, used by Alembic.
revision: str = '9c3618973651'
down_revision: str | Sequence[str] | None = 'c0e7a3f41b28'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_outbox_epoch_v2()


def downgrade() -> None:
    downgrade_outbox_epoch_v2()
