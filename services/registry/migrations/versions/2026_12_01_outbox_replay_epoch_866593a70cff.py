"""outbox replay epoch

Revision ID: 866593a70cff
Revises: ef3e4caa2844
Create Date: 2026-12-01 19:00:00

"""
from collections.abc import Sequence

from shared.platform_migrations import downgrade_outbox_epoch_v2, upgrade_outbox_epoch_v2

# revision identifiers, used by Alembic.
revision: str = '866593a70cff'
down_revision: str | Sequence[str] | None = 'ef3e4caa2844'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_outbox_epoch_v2()


def downgrade() -> None:
    downgrade_outbox_epoch_v2()
