"""outbox replay epoch

Revision ID: 683b4536c061
Revises: 7d3f41c0b2e9
Create Date: 2026-12-01 19:00:00

"""
from collections.abc import Sequence

from shared.platform_migrations import downgrade_outbox_epoch_v2, upgrade_outbox_epoch_v2

# revision identifiers, used by Alembic.
revision: str = '683b4536c061'
down_revision: str | Sequence[str] | None = '7d3f41c0b2e9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_outbox_epoch_v2()


def downgrade() -> None:
    downgrade_outbox_epoch_v2()
