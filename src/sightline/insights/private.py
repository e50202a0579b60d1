"""Partner-defined PRIVATE KLIs: a boolean expression over other KLIs and customer attributes.

``kli(8616201) and not kli(39668008) and balance_band >= 3`` parses into a pydantic tree
(:data:`Expr`) that is stored as JSON, compiled to the compute engine for the bulk refresh
(:func:`compile_expr`) and evaluated in Python for one customer (:func:`evaluate`); a test keeps
the two equal. Both follow SQL's three-valued logic: a comparison with a missing attribute is
unknown, and only a definite *true* assigns the KLI. Values are bound as literals, never SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sightline.errors import BadRequest

PRIVATE_CODE_BASE = 1_900_000_000
"""Private KLI codes are allocated upwards from here (public codes stay far below)."""
PRIVATE_CODE_MAX = 2_147_483_647
MAX_DEPTH = 12
MAX_NODES = 100


class ExpressionError(BadRequest):
    """The private KLI expression is not valid."""


class Attribute(StrEnum):
    BALANCE_BAND = "balance_band"
    INCOME_BAND = "income_band"
    TENURE_BAND = "tenure_band"
    AGE_BAND = "age_band"
    BALANCE = "balance"
    ANNUAL_INCOME = "annual_income"
    AGE = "age"
    OPEN_PRODUCTS = "open_products"
    UCIC_TYPE = "ucic_type"


NUMERIC = frozenset(Attribute) - {Attribute.UCIC_TYPE}
BAND_RULES = {
    Attribute.BALANCE_BAND: "balance",
    Attribute.INCOME_BAND: "income",
    Attribute.TENURE_BAND: "tenure",
    Attribute.AGE_BAND: "age",
}


class Op(StrEnum):
    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KliRef(_Node):
    op: Literal["kli"] = "kli"
    code: Annotated[int, Field(ge=1, le=PRIVATE_CODE_MAX)]


class Compare(_Node):
    op: Literal["cmp"] = "cmp"
    attribute: Attribute
    cmp: Op
    value: float | str

    def model_post_init(self, _context: Any) -> None:
        numeric = self.attribute in NUMERIC
        if numeric and isinstance(self.value, str):
            raise ValueError(f"{self.attribute.value} compares with a number")
        if not numeric and not isinstance(self.value, str):
            raise ValueError(f"{self.attribute.value} compares with a string")
        if not numeric and self.cmp not in (Op.EQ, Op.NE):
            raise ValueError(f"{self.attribute.value} supports only == and !=")


class And(_Node):
    op: Literal["and"] = "and"
    args: tuple[Expr, ...] = Field(min_length=2, max_length=20)


class Or(_Node):
    op: Literal["or"] = "or"
    args: tuple[Expr, ...] = Field(min_length=2, max_length=20)


class Not(_Node):
    op: Literal["not"] = "not"
    arg: Expr


Expr = Annotated[KliRef | Compare | And | Or | Not, Field(discriminator="op")]
And.model_rebuild()
Or.model_rebuild()
Not.model_rebuild()


class _Holder(BaseModel):
    expr: Expr


def from_json(data: Any) -> Expr:
    try:
        expr = _Holder.model_validate({"expr": data}).expr
    except ValidationError as exc:
        msgs = [
            f"Field expression.{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}".replace(
                "expression.:", "expression:"
            )
            for e in exc.errors()
        ]
        raise ExpressionError(*msgs) from None
    _check_size(expr)
    return expr


def _check_size(expr: Expr) -> None:
    count = 0

    def walk(e: Expr, depth: int) -> None:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            raise ExpressionError(
                f"Field expression: too complex (max depth {MAX_DEPTH}, {MAX_NODES} terms)."
            )
        if isinstance(e, And | Or):
            for a in e.args:
                walk(a, depth + 1)
        elif isinstance(e, Not):
            walk(e.arg, depth + 1)

    walk(expr, 1)


# --- text syntax -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>\"[^\"\\]{0,200}\"|'[^'\\]{0,200}')"
    r"|(?P<op>==|!=|>=|<=|>|<|\(|\))|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"Field expression: unexpected text at position {pos + 1}.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > 2000:
            raise ExpressionError("Field expression: longer than 2000 characters.")
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("Field expression: ends too early.")
        if value is not None and tok[1].lower() != value:
            raise ExpressionError(f"Field expression: expected '{value}', found '{tok[1]}'.")
        self.i += 1
        return tok

    def parse(self) -> dict[str, Any]:
        node = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"Field expression: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return node

    def _is(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def or_(self) -> dict[str, Any]:
        args = [self.and_()]
        while self._is("or"):
            self.take()
            args.append(self.and_())
        return args[0] if len(args) == 1 else {"op": "or", "args": args}

    def and_(self) -> dict[str, Any]:
        args = [self.not_()]
        while self._is("and"):
            self.take()
            args.append(self.not_())
        return args[0] if len(args) == 1 else {"op": "and", "args": args}

    def not_(self) -> dict[str, Any]:
        if self._is("not"):
            self.take()
            return {"op": "not", "arg": self.not_()}
        return self.atom()

    def atom(self) -> dict[str, Any]:
        kind, value = self.take()
        if value == "(":
            node = self.or_()
            self.take(")")
            return node
        if kind != "word":
            raise ExpressionError(f"Field expression: unexpected '{value}'.")
        if value.lower() == "kli":
            self.take("(")
            num_kind, num = self.take()
            if num_kind != "num" or not num.isdigit():
                raise ExpressionError("Field expression: kli(...) takes a KLI code.")
            self.take(")")
            return {"op": "kli", "code": int(num)}
        if value not in Attribute.__members__.values():
            names = ", ".join(a.value for a in Attribute)
            raise ExpressionError(f"Field expression: unknown attribute '{value}' (use {names}).")
        op_kind, op = self.take()
        if op_kind != "op" or op not in {o.value for o in Op}:
            raise ExpressionError(f"Field expression: expected a comparison after '{value}'.")
        lit_kind, lit = self.take()
        literal: float | str
        if lit_kind == "num":
            literal = float(lit)
        elif lit_kind == "str":
            literal = lit[1:-1]
        else:
            raise ExpressionError(f"Field expression: expected a value after '{op}'.")
        return {"op": "cmp", "attribute": value, "cmp": op, "value": literal}


def parse(text: str) -> Expr:
    """Parse the text syntax into the expression tree (errors name the problem)."""
    if not text.strip():
        raise ExpressionError("Field expression is required.")
    return from_json(_Parser(text).parse())


def to_text(expr: Expr) -> str:
    if isinstance(expr, KliRef):
        return f"kli({expr.code})"
    if isinstance(expr, Compare):
        v = f'"{expr.value}"' if isinstance(expr.value, str) else f"{expr.value:g}"
        return f"{expr.attribute.value} {expr.cmp.value} {v}"
    if isinstance(expr, Not):
        return f"not {_wrap(expr.arg)}"
    joiner = " and " if isinstance(expr, And) else " or "
    return joiner.join(_wrap(a) for a in expr.args)


def _wrap(expr: Expr) -> str:
    return f"({to_text(expr)})" if isinstance(expr, And | Or) else to_text(expr)


def referenced_codes(expr: Expr) -> set[int]:
    if isinstance(expr, KliRef):
        return {expr.code}
    if isinstance(expr, And | Or):
        return set().union(*(referenced_codes(a) for a in expr.args))
    if isinstance(expr, Not):
        return referenced_codes(expr.arg)
    return set()


# --- evaluation: Python (one customer) and Ibis (bulk) ---------------------------------------

_PY_OPS = {
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
}


Expand = Callable[[int], Iterable[int]]
"""A KLI code → the codes it stands for: itself and every KLI below it in the taxonomy."""


def _same(code: int) -> Iterable[int]:
    return (code,)


def evaluate3(
    expr: Expr, klis: set[int], attrs: Mapping[str, Any], expand: Expand = _same
) -> bool | None:
    """Three-valued (True/False/None=unknown), as SQL evaluates the compiled form."""
    if isinstance(expr, KliRef):
        return any(c in klis for c in expand(expr.code))
    if isinstance(expr, Compare):
        value = attrs.get(expr.attribute.value)
        if value is None:
            return None
        if expr.attribute in NUMERIC:
            value = float(value)
        return bool(_PY_OPS[expr.cmp](value, expr.value))
    if isinstance(expr, Not):
        inner = evaluate3(expr.arg, klis, attrs, expand)
        return None if inner is None else not inner
    results = [evaluate3(a, klis, attrs, expand) for a in expr.args]
    if isinstance(expr, And):
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def evaluate(expr: Expr, klis: set[int], attrs: Mapping[str, Any], expand: Expand = _same) -> bool:
    """Does one customer (its KLI codes and attributes) get the private KLI? ``kli(c)`` holds
    when the customer has ``c`` or any code ``expand(c)`` gives (a branch stands for its
    subtree)."""
    return evaluate3(expr, klis, attrs, expand) is True


def compile_expr(
    expr: Expr, people: ir.Table, assignments: ir.Table, expand: Expand = _same
) -> ir.BooleanValue:
    """The expression over ``people`` (one row per ucic with the :class:`Attribute` columns);
    ``kli(c)`` is membership in ``assignments`` (ucic, kli_code) of ``c`` or its subtree."""
    if isinstance(expr, KliRef):
        codes = sorted(set(expand(expr.code)) | {expr.code})
        if len(codes) == 1:
            holders = assignments.filter(assignments.kli_code == ibis.literal(codes[0]))
        else:
            holders = assignments.filter(assignments.kli_code.isin(codes))
        return people.ucic.isin(holders.ucic)
    if isinstance(expr, Compare):
        column = people[expr.attribute.value]
        value = ibis.literal(expr.value)
        if expr.attribute in NUMERIC:
            column = column.cast("float64")
        ops = {
            Op.EQ: column == value,
            Op.NE: column != value,
            Op.GT: column > value,
            Op.GE: column >= value,
            Op.LT: column < value,
            Op.LE: column <= value,
        }
        return ops[expr.cmp]
    if isinstance(expr, Not):
        return ~compile_expr(expr.arg, people, assignments, expand)
    parts = [compile_expr(a, people, assignments, expand) for a in expr.args]
    out = parts[0]
    for p in parts[1:]:
        out = (out & p) if isinstance(expr, And) else (out | p)
    return out
