"""ingest: runs, quarantine, raw events, customer ids, consents, alert webhooks, sftp keys

Revision ID: ingest_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "ingest_0001"
down_revision = None
branch_labels = ("ingest",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "consent_current",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("ucic", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_consent_current_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "ucic", "channel", "purpose", name=op.f("pk_consent_current")
        ),
    )
    op.create_table(
        "consent_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("ucic", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_consent_history_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_history")),
        sa.UniqueConstraint(
            "partner_id",
            "ucic",
            "channel",
            "purpose",
            "changed_at",
            name="uq_consent_history_change",
        ),
    )
    op.create_table(
        "ingest_alert_webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_ingest_alert_webhooks_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_alert_webhooks")),
    )
    op.create_index(
        "ix_ingest_alert_webhooks_partner", "ingest_alert_webhooks", ["partner_id"], unique=False
    )
    op.create_table(
        "ingest_customer_ids",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("ucic", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_ingest_customer_ids_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "ucic", name=op.f("pk_ingest_customer_ids")),
    )
    op.create_index(
        "ix_ingest_customer_ids_member",
        "ingest_customer_ids",
        ["partner_id", "member_id"],
        unique=False,
    )
    op.create_table(
        "ingest_events",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("flushed_run_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_ingest_events_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "event_id", name=op.f("pk_ingest_events")),
    )
    op.create_index(
        "ix_ingest_events_partner_flushed",
        "ingest_events",
        ["partner_id", "flushed_run_id"],
        unique=False,
    )
    op.create_table(
        "ingest_runs",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("feed", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_stored", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("rows_duplicate", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_ingest_runs_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_ingest_runs")),
    )
    op.create_index(
        "ix_ingest_runs_partner_hash",
        "ingest_runs",
        ["partner_id", "feed", "content_hash"],
        unique=False,
    )
    op.create_index(
        "ix_ingest_runs_partner_run", "ingest_runs", ["partner_id", "run_id"], unique=False
    )
    op.create_table(
        "ingest_sftp_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_ingest_sftp_keys_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_sftp_keys")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_ingest_sftp_keys_fingerprint")),
    )
    op.create_index("ix_ingest_sftp_keys_partner", "ingest_sftp_keys", ["partner_id"], unique=False)
    op.create_table(
        "ingest_quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.partner_id"],
            name=op.f("fk_ingest_quarantine_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["ingest_runs.run_id"],
            name=op.f("fk_ingest_quarantine_run_id_ingest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_quarantine")),
    )
    op.create_index(
        "ix_ingest_quarantine_run_line", "ingest_quarantine", ["run_id", "line"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_quarantine_run_line", table_name="ingest_quarantine")
    op.drop_table("ingest_quarantine")
    op.drop_index("ix_ingest_sftp_keys_partner", table_name="ingest_sftp_keys")
    op.drop_table("ingest_sftp_keys")
    op.drop_index("ix_ingest_runs_partner_run", table_name="ingest_runs")
    op.drop_index("ix_ingest_runs_partner_hash", table_name="ingest_runs")
    op.drop_table("ingest_runs")
    op.drop_index("ix_ingest_events_partner_flushed", table_name="ingest_events")
    op.drop_table("ingest_events")
    op.drop_index("ix_ingest_customer_ids_member", table_name="ingest_customer_ids")
    op.drop_table("ingest_customer_ids")
    op.drop_index("ix_ingest_alert_webhooks_partner", table_name="ingest_alert_webhooks")
    op.drop_table("ingest_alert_webhooks")
    op.drop_table("consent_history")
    op.drop_table("consent_current")
