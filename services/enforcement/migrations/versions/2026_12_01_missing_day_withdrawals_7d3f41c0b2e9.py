"""missing-records days withdrawn by a closed day declared after the cut-off

Revision ID: 7d3f41c0b2e9
Revises: a234e95153fc
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '7d3f41c0b2e9'
down_revision: Union[str, Sequence[str], None] = 'a234e95153fc'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('missing_records_days') as batch:
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('withdrawn_event_id', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('missing_records_days') as batch:
        batch.drop_column('withdrawn_event_id')
        batch.drop_column('withdrawn_at')
