"""platform tables

Revision ID: f522b5ca0229
Revises: 
Create Date: 2026-11-30 09:32:35.536205

"""
from collections.abc import Sequence

from shared.platform_migrations import downgrade_platform_tables_v1, upgrade_platform_tables_v1

# revision identifiers, used by Alembic.
revision: str = 'f522b5ca0229'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_platform_tables_v1()


def downgrade() -> None:
    downgrade_platform_tables_v1()
