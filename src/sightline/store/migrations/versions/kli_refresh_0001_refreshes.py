"""kli_refresh: the KLI refresh log

Revision ID: kli_refresh_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "kli_refresh_0001"
down_revision = None
branch_labels = ("kli_refresh",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "kli_refreshes",
        sa.Column("refresh_id", sa.String(64), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.Column("assignments", sa.BigInteger(), nullable=False),
        sa.Column("gained", sa.BigInteger(), nullable=False),
        sa.Column("lost", sa.BigInteger(), nullable=False),
        sa.Column("transactions_enriched", sa.BigInteger(), nullable=False),
        sa.Column("watermark", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name="fk_kli_refreshes_partner_id_partners",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("refresh_id", name="pk_kli_refreshes"),
    )
    op.create_index(
        "ix_kli_refreshes_partner_started", "kli_refreshes", ["partner_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_kli_refreshes_partner_started", table_name="kli_refreshes")
    op.drop_table("kli_refreshes")
