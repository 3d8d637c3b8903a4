"""filling record corrections

A correction is a new filling_records row naming the version it replaces; each row names the
chain link that sealed it. Uploads keep their per-record key, now a unique index over uploads
only (a correction may repeat the cylinder and filled_at of the fill it corrects).

Not backward compatible: the previous release's upload names the old constraint in its ON
CONFLICT, which the partial index cannot answer; stop inspection for it (docs/operations.md).

Revision ID: c0e7a3f41b28
Revises: 5b1e7c2d9a40
Create Date: 2026-12-02 10:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0e7a3f41b28"
down_revision: str | Sequence[str] | None = "5b1e7c2d9a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UPLOAD_KEY = ("enterprise_uscc", "cylinder_no", "filled_at")
OLD_UNIQUE = "uq_filling_records_enterprise_uscc_cylinder_no_filled_at"

# Every stored upload gets the sequence of its batch's link (one filling_batch link per enterprise
# and batch, its payload naming the batch).
BACKFILL = {
    "postgresql": "UPDATE filling_records AS f SET chain_sequence = l.sequence FROM chain_links AS l "
                  "WHERE l.kind = 'filling_batch' AND l.enterprise_uscc = f.enterprise_uscc "
                  "AND (l.payload::json ->> 'batch_id') = f.batch_id",
    "sqlite": "UPDATE filling_records SET chain_sequence = l.sequence FROM chain_links AS l "
              "WHERE l.kind = 'filling_batch' AND l.enterprise_uscc = filling_records.enterprise_uscc "
              "AND json_extract(l.payload, '$.batch_id') = filling_records.batch_id",
}


def _where(condition: str) -> dict[str, sa.TextClause]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table("filling_records") as batch:
        batch.add_column(sa.Column("chain_sequence", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("corrects_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("original_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("correction_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("corrected_by", sa.String(length=200), nullable=True))
        batch.drop_constraint(OLD_UNIQUE, type_="unique")
    op.create_index("ix_filling_records_uploaded_fill", "filling_records", list(UPLOAD_KEY), unique=True,
                    **_where("corrects_id IS NULL"))
    op.create_index("ix_filling_records_corrects", "filling_records", ["corrects_id"], unique=True,
                    **_where("corrects_id IS NOT NULL"))
    op.create_index("ix_filling_records_original", "filling_records", ["original_id"],
                    **_where("original_id IS NOT NULL"))
    op.execute(BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    # Dropping corrections would leave their links sealing nothing: refuse rather than break chains.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM filling_records WHERE corrects_id IS NOT NULL")).scalar():
        raise RuntimeError("filling records hold corrections: this schema cannot hold them, downgrade refused")
    op.drop_index("ix_filling_records_original", "filling_records")
    op.drop_index("ix_filling_records_corrects", "filling_records")
    op.drop_index("ix_filling_records_uploaded_fill", "filling_records")
    with op.batch_alter_table("filling_records") as batch:
        batch.create_unique_constraint(OLD_UNIQUE, list(UPLOAD_KEY))
        batch.drop_column("corrected_by")
        batch.drop_column("correction_reason")
        batch.drop_column("original_id")
        batch.drop_column("corrects_id")
        batch.drop_column("version")
        batch.drop_column("chain_sequence")
