"""platform tables

Revision ID: e9f2eace7725
Revises: 
Create Date: 2026-11-30 09:32:34.857086

"""
from collections.abc import Sequence

from shared.platform_migrations import downgrade_platform_tables_v1, upgrade_platform_tables_v1

# revision identifiers, used by Alembic.
revision: str = 'e9f2eace7725'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_platform_tables_v1()


def downgrade() -> None:
    downgrade_platform_tables_v1()
