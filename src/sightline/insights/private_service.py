"""Create, list and delete a partner's PRIVATE KLIs (stored in ``kli_private``).

A private KLI is a name plus an expression (:mod:`sightline.insights.private`) over public KLIs
and customer attributes. It gets the next code of the private range, is evaluated on every
refresh of the partner, and is visible to that partner only. Services never commit.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sightline.errors import BadRequest, Conflict, NotFound
from sightline.insights import private as expr_lang
from sightline.insights.models import PrivateKli
from sightline.insights.private import PRIVATE_CODE_BASE, PRIVATE_CODE_MAX, Expr
from sightline.insights.rules import slugify

MAX_PER_PARTNER = 500


class PrivateKliCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Display name (kli_name).")
    description: str = Field("", max_length=1000, description="What the KLI means.")
    expression: str | dict[str, Any] = Field(
        description="Text such as `kli(8616201) and not kli(39668008) and balance_band >= 3`, "
        "or the same as a JSON tree."
    )

    @field_validator("name", "description")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:  # PostgreSQL cannot store it: a 500 there instead of a 400
            raise ValueError("must not contain NUL characters")
        return value


class PrivateKliOut(BaseModel):
    kli_code: int
    kli_name: str
    kli_description: str
    kli_class: str = "PRIVATE"
    kli_is_competitive: str = "N"
    kli_is_leaf: str = "Y"
    expression: str = Field(description="The expression in text form.")
    definition: dict[str, Any] = Field(description="The expression tree (JSON).")
    created_at: str


def to_out(row: PrivateKli) -> PrivateKliOut:
    tree = (row.definition or {}).get("expression") or {}
    return PrivateKliOut(
        kli_code=int(row.kli_code),
        kli_name=row.kli_name,
        kli_description=row.kli_description,
        kli_is_competitive=row.kli_is_competitive,
        kli_is_leaf=row.kli_is_leaf,
        expression=expr_lang.to_text(expr_lang.from_json(tree)) if tree else "",
        definition=tree,
        created_at=row.created_at.isoformat(timespec="seconds"),
    )


def _parse(expression: str | dict[str, Any]) -> Expr:
    if isinstance(expression, str):
        return expr_lang.parse(expression)
    return expr_lang.from_json(expression)


def _check_references(expr: Expr) -> None:
    from sightline.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    for code in sorted(expr_lang.referenced_codes(expr)):
        if code >= PRIVATE_CODE_BASE:
            raise BadRequest(
                f"Field expression: kli({code}) is a private KLI; "
                "private KLIs are built from public KLIs and attributes."
            )
        if code not in taxonomy:
            raise BadRequest(f"Field expression: unknown KLI code {code}.")


def _next_code(session: Session) -> int:
    found = session.execute(select(func.max(PrivateKli.kli_code))).scalar()
    code = max(PRIVATE_CODE_BASE, int(found or 0) + 1)
    if code > PRIVATE_CODE_MAX:
        raise Conflict("The private KLI code range is exhausted.")
    return code


def create_private_kli(session: Session, partner_id: str, body: PrivateKliCreate) -> PrivateKli:
    expr = _parse(body.expression)
    _check_references(expr)
    key = f"private:{slugify(body.name)}"
    if key == "private:":
        raise BadRequest("Field name must contain letters or digits.")
    taken = session.execute(
        select(PrivateKli.kli_code).where(
            PrivateKli.partner_id == partner_id, PrivateKli.key == key
        )
    ).first()
    if taken is not None:
        raise Conflict(f"A private KLI named {body.name!r} already exists ({taken[0]}).")
    count = session.execute(
        select(func.count()).select_from(PrivateKli).where(PrivateKli.partner_id == partner_id)
    ).scalar_one()
    if count >= MAX_PER_PARTNER:
        raise Conflict(f"A partner can define at most {MAX_PER_PARTNER} private KLIs.")
    row = PrivateKli(
        kli_code=_next_code(session),
        partner_id=partner_id,
        key=key,
        kli_name=body.name,
        kli_description=body.description,
        parent_kli_code=None,
        kli_is_competitive="N",
        kli_is_leaf="Y",
        definition={"expression": expr.model_dump(mode="json"), "text": expr_lang.to_text(expr)},
    )
    session.add(row)
    session.flush()
    return row


def list_private_klis(
    session: Session, partner_id: str, *, after: int | None = None, limit: int = 100
) -> list[PrivateKli]:
    stmt = select(PrivateKli).where(PrivateKli.partner_id == partner_id)
    if after is not None:
        stmt = stmt.where(PrivateKli.kli_code > after)
    return list(session.execute(stmt.order_by(PrivateKli.kli_code).limit(limit)).scalars())


def get_private_kli(session: Session, partner_id: str, kli_code: int) -> PrivateKli:
    row = session.get(PrivateKli, kli_code)
    if row is None or row.partner_id != partner_id:
        raise NotFound(f"Private KLI {kli_code} not found.")
    return row


def delete_private_kli(session: Session, partner_id: str, kli_code: int) -> None:
    """Delete the definition; its assignments disappear with the partner's next refresh."""
    session.delete(get_private_kli(session, partner_id, kli_code))
    session.flush()
