"""idempotency key age index

Backward compatible: an index the previous release does not read.

Revision ID: 51c2bcf2477f
Revises: 866593a70cff
Create Date: 2026-12-02 14:00:00

"""
from collections.abc import Sequence

from shared.platform_migrations import downgrade_idempotency_key_age_v3, upgrade_idempotency_key_age_v3

revision: str = "51c2bcf2477f"
down_revision: str | Sequence[str] | None = "866593a70cff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_idempotency_key_age_v3()


def downgrade() -> None:
    downgrade_idempotency_key_age_v3()
