"""kli: publications, assignments with evidence, counts, history, private KLIs

Revision ID: kli_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "kli_0001"
down_revision = None
branch_labels = ("kli",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "kli_publications",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("refresh_id", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.Column("assignments", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name="fk_kli_publications_partner_id_partners",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", name="pk_kli_publications"),
    )
    op.create_table(
        "kli_assignments",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ucic", sa.String(64), nullable=False),
        sa.Column("kli_code", sa.BigInteger(), nullable=False),
        sa.Column("first_assigned", sa.Date(), nullable=False),
        sa.Column("last_assigned", sa.Date(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "partner_id", "generation", "ucic", "kli_code", name="pk_kli_assignments"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "kli_counts",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("kli_code", sa.BigInteger(), nullable=False),
        sa.Column("ucic_count", sa.BigInteger(), nullable=False),
        sa.Column("direct_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "generation", "kli_code", name="pk_kli_counts"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "kli_history",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("kli_code", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("ucic", sa.String(64), nullable=False),
        sa.Column("refresh_id", sa.String(64), nullable=False),
        sa.Column("change", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id",
            "kli_code",
            "date",
            "ucic",
            "refresh_id",
            "change",
            name="pk_kli_history",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_kli_history_ucic", "kli_history", ["partner_id", "ucic", "date"])
    op.create_table(
        "kli_private",
        sa.Column("kli_code", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kli_name", sa.String(200), nullable=False),
        sa.Column("kli_description", sa.Text(), nullable=False),
        sa.Column("parent_kli_code", sa.BigInteger(), nullable=True),
        sa.Column("kli_is_competitive", sa.String(1), nullable=False),
        sa.Column("kli_is_leaf", sa.String(1), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name="fk_kli_private_partner_id_partners",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kli_code", name="pk_kli_private"),
    )
    op.create_index("ix_kli_private_partner_key", "kli_private", ["partner_id", "key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_kli_private_partner_key", table_name="kli_private")
    op.drop_table("kli_private")
    op.drop_index("ix_kli_history_ucic", table_name="kli_history")
    op.drop_table("kli_history")
    op.drop_table("kli_counts")
    op.drop_table("kli_assignments")
    op.drop_table("kli_publications")
