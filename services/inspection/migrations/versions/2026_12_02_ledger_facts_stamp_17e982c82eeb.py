"""ledger facts stamp

Each ledger enterprise gets the stamp that what a process remembers of its cylinders and
operators is valid under (ledger/facts.py); existing rows get a random one each.

Backward compatible: the release before neither reads nor writes the column. While its pods
still consume registry events they do not replace stamps, so during the rollout remembered facts
may lag by up to ``SAFEGRID_INSPECTION_LEDGER_FACTS_TTL_S`` (docs/operations.md).

Revision ID: 17e982c82eeb
Revises: 9c3618973651
Create Date: 2026-12-02 12:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "17e982c82eeb"
down_revision: str | Sequence[str] | None = "9c3618973651"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_STAMP = {  # a random 62-bit value per row, as models.new_facts_stamp makes them
    "postgresql": "floor(random() * 4611686018427387903)::bigint",
    "sqlite": "random() / 2 & 4611686018427387903",
}


def upgrade() -> None:
    with op.batch_alter_table("ledger_enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts_stamp", sa.BigInteger(), nullable=True))
    op.execute(f"UPDATE ledger_enterprises SET facts_stamp = {RANDOM_STAMP[op.get_bind().dialect.name]}")


def downgrade() -> None:
    with op.batch_alter_table("ledger_enterprises", schema=None) as batch_op:
        batch_op.drop_column("facts_stamp")
