"""Response shapes of the ``/kli/v1`` API (documented in OpenAPI; the hot paths serialise the
same fields with orjson directly)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

YN = Literal["Y", "N"]
T = TypeVar("T")


class KliFields(BaseModel):
    kli_code: int = Field(description="The KLI's stable code.")
    kli_name: str = Field(description="Display name.")
    parent_kli_code: int | None = Field(description="Parent code; null at the top of the tree.")
    kli_class: Literal["PUBLIC", "PRIVATE"] = Field(
        description="PUBLIC: the shipped taxonomy; PRIVATE: this partner's own KLI."
    )
    kli_is_competitive: YN = Field(description="Y when it is about a competing institution.")
    kli_is_leaf: YN = Field(description="Y for leaves (merchants, institutions, indicators).")


class KliInUse(KliFields):
    kli_description: str = Field(description="What holding the KLI means.")
    ucic_count: int = Field(
        description="Distinct customers holding this KLI or any KLI below it in the tree."
    )


class Parent(BaseModel):
    kli_code: int
    kli_name: str


class KliDetail(KliInUse):
    parents: list[Parent] = Field(
        description="Parents from the immediate parent up to the top-level branch."
    )
    direct_ucic_count: int = Field(description="Customers holding exactly this KLI.")


class Assignment(KliFields):
    first_assigned: str | None = Field(
        description="YYYY-MM-DD the customer first held it in the current streak (for an "
        "inner node held through descendants: the earliest of them)."
    )
    last_assigned: str | None = Field(
        description="YYYY-MM-DD of the latest refresh that assigned it (inner node: latest)."
    )
    strength: float | None = Field(description="Score or strength in 0..1 where meaningful.")


class Holder(BaseModel):
    ucic: str
    first_assigned: str | None
    last_assigned: str | None
    strength: float | None


class EvidenceOut(BaseModel):
    ucic: str
    kli_code: int
    kli_name: str
    first_assigned: str
    last_assigned: str
    strength: float | None
    evidence: dict[str, Any] | None = Field(
        description="The rule's evidence: rule id, window, counts, amounts, sample txn ids."
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: done.")


ExportFormat = Literal["parquet", "csv", "ndjson"]
