"""Pydantic models of the ingestion API (the feed schemas themselves are in ``schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the posted batch (0-based).")
    event_id: str | None = Field(description="The event's id, when it had one.")
    errors: list[str] = Field(description="What is wrong, one message per problem.")


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events stored by this request.")
    duplicate: int = Field(description="Events whose event_id was already stored (acknowledged).")
    rejected: list[RejectedEvent] = Field(description="Events refused, with the reasons.")


class Run(BaseModel):
    run_id: str = Field(description="Run id (sortable by start time).")
    feed: str = Field(description="Feed ingested.")
    source: str = Field(description="File name, 'upload:<name>' or 'webhook'.")
    status: str = Field(
        description="running, succeeded, partial (some rows quarantined), failed, skipped "
        "(same content already ingested) or interrupted."
    )
    content_hash: str | None = Field(
        description="SHA-256 of the file's bytes (null for webhook event batches, and while "
        "a file's run is still running: the hash is computed beside it)."
    )
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    rows_duplicate: int
    message: str | None = Field(description="Why a run failed or was skipped.")
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, summary: Any) -> Run:
        return cls(
            run_id=summary.run_id,
            feed=summary.feed,
            source=summary.source,
            status=summary.status,
            content_hash=summary.content_hash,
            rows_read=summary.read,
            rows_stored=summary.stored,
            rows_quarantined=summary.quarantined,
            rows_duplicate=summary.duplicate,
            message=summary.message,
            started_at=summary.started_at,
            finished_at=summary.finished_at,
        )


class RunPage(BaseModel):
    items: list[Run]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class QuarantineItem(BaseModel):
    id: int
    file: str = Field(description="File name the row came from.")
    line: int = Field(description="Line of the row in the file (row number for Parquet).")
    field: str = Field(description="The first field at fault.")
    reason: str = Field(description="Every problem of the row, '; '-separated.")
    record: dict[str, Any] | None = Field(description="The row as sent, PII masked.")


class QuarantinePage(BaseModel):
    items: list[QuarantineItem]
    next_cursor: str | None


class ConsentItem(BaseModel):
    channel: str
    purpose: str
    status: str
    changed_at: datetime
    source: str | None


class Consents(BaseModel):
    ucic: str
    current: list[ConsentItem] = Field(description="The latest state per channel and purpose.")
    history: list[ConsentItem] = Field(description="Every change, oldest first (append-only).")
