"""Row validation, written once as rules and compiled two ways.

- :func:`errors_sql` compiles the rules of a feed to one DuckDB expression that yields the row's
  problems (``"field: message; field: message"``, empty when the row is good). Files are
  validated with it over whole batches: no Python per row.
- :func:`validate_record` evaluates the same rules on one record in Python (event webhooks).
- a rule whose check is a pattern, a length, a set or a sign also carries an Arrow kernel
  (``arrow_ok``): the bulk path checks high-cardinality columns (amounts, ids, descriptors) with it
  row by row; every other rule runs its SQL once per *distinct* value of the column.

A parity test keeps the three equal. Every value reaches the rules as text, kept as sent
(empty → null), exactly as a CSV cell would. Messages never quote the value of a direct-PII field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.ingest.schemas import Classification, FeedSchema, FieldSpec, Kind

INT_RE = r"[+-]?[0-9]{1,18}"
MONEY_RE = r"[+-]?[0-9]{1,16}(\.[0-9]{1,2})?"
DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)
MCC_RE = r"[0-9]{4}"
SHOWN = 40  # characters of a bad value quoted in a message
NUL = "\x00"
#: the UTC instants a timestamp may name: what Python's datetime (the webhook path, the serving
#: DB) can hold; DuckDB reads years beyond, which would fail later, at every flush
TIMESTAMP_RANGE_SQL = (
    "BETWEEN TIMESTAMPTZ '0001-01-01 00:00:00+00' AND TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"
)
#: feeds whose rows are stored in the serving DB (events before their flush, consents, customer
#: ids), where PostgreSQL refuses NUL in text: every field of theirs is checked for one
NUL_CHECKED_FEEDS = frozenset({"events", "consents", "customers"})


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A SQL string literal (the rules are constants of the code, never user input)."""
    return "'" + value.replace("'", "''") + "'"


def _shown_sql(spec: FieldSpec) -> str:
    if spec.classification == Classification.DIRECT_PII:
        return "''"
    return f"""' "' || replace(left({q(spec.name)}, {SHOWN}), chr(0), '') || '"'"""


def _shown_py(spec: FieldSpec, value: str) -> str:
    if spec.classification == Classification.DIRECT_PII:
        return ""
    return f' "{value[:SHOWN].replace(NUL, "")}"'  # NUL: PostgreSQL text cannot hold it


@dataclass(frozen=True)
class Rule:
    """One check of one field: applies when the value is present, fails with ``message``."""

    field: str
    message: str  # after the field name and the shown value
    sql_ok: str  # SQL boolean, true when the (non-null) value passes
    py_ok: Callable[[str], bool]
    show_value: bool = True
    # the same check as an Arrow kernel over a string array (true = passes; nulls are not
    # asked about), when the check is a pattern, a length, a set or a sign
    arrow_ok: Callable[[Any], Any] | None = None


ArrowCheck = Callable[[Any], Any]


def _arrow_full(pattern: str) -> ArrowCheck:
    fixed = re.fullmatch(r"\[0-9\]\{(\d+)\}", pattern)
    if fixed:  # n ASCII digits (an MCC): the byte length and a digit test, 7x cheaper than RE2
        n = int(fixed.group(1))
        return lambda a: pc.and_(pc.equal(pc.binary_length(a), n), pc.ascii_is_decimal(a))
    anchored = f"^(?:{pattern})$"  # RE2, like DuckDB's regexp_full_match
    return lambda a: pc.match_substring_regex(a, anchored)


def _arrow_shorter(limit: int) -> ArrowCheck:
    """At most ``limit`` characters. A value of at most ``limit`` bytes passes without being
    decoded (the byte length is read off the offsets); only longer ones are counted in
    characters."""

    def check(a: Any) -> Any:
        short = pc.less_equal(pc.binary_length(a), limit)
        if pc.all(short).as_py() is not False:
            return short
        return pc.or_kleene(short, pc.less_equal(pc.utf8_length(a), limit))

    return check


def _arrow_member(allowed: tuple[str, ...]) -> ArrowCheck:
    values = pa.array(allowed, pa.string())
    return lambda a: pc.is_in(a, value_set=values)


def _arrow_nonneg(a: Any) -> Any:
    return pc.invert(pc.starts_with(a, "-"))


def _full(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda v: compiled.fullmatch(v) is not None


def _is_date(v: str) -> bool:
    if re.fullmatch(DATE_RE, v) is None:
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _is_timestamp(v: str) -> bool:
    if re.fullmatch(TIMESTAMP_RE, v) is None:
        return False
    try:
        parsed = datetime.fromisoformat(v.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # raises when the UTC instant is outside years 1-9999
    except (ValueError, OverflowError):
        return False
    return True


def _is_object(v: str) -> bool:
    try:
        return isinstance(json.loads(v), dict)
    except ValueError:
        return False


def _member(allowed: frozenset[str]) -> Callable[[str], bool]:
    return lambda v: v in allowed


def _shorter(limit: int) -> Callable[[str], bool]:
    return lambda v: len(v) <= limit


def _nonneg(v: str) -> bool:
    return not v.startswith("-")


def kind_rules(spec: FieldSpec) -> list[Rule]:
    c = q(spec.name)
    rules: list[Rule] = []
    if spec.kind == Kind.INT:
        rules.append(
            Rule(
                spec.name,
                "is not an integer",
                f"regexp_full_match({c}, {lit(INT_RE)})",
                _full(INT_RE),
                arrow_ok=_arrow_full(INT_RE),
            )
        )
    elif spec.kind == Kind.MONEY:
        rules.append(
            Rule(
                spec.name,
                "is not an amount (digits, at most 2 decimal places)",
                f"regexp_full_match({c}, {lit(MONEY_RE)})",
                _full(MONEY_RE),
                arrow_ok=_arrow_full(MONEY_RE),
            )
        )
    elif spec.kind == Kind.DATE:
        rules.append(
            Rule(
                spec.name,
                "is not a date (YYYY-MM-DD)",
                f"(regexp_full_match({c}, {lit(DATE_RE)}) AND TRY_CAST({c} AS DATE) IS NOT NULL)",
                _is_date,
            )
        )
    elif spec.kind == Kind.TIMESTAMP:
        rules.append(
            Rule(
                spec.name,
                "is not an ISO 8601 timestamp",
                f"(regexp_full_match({c}, {lit(TIMESTAMP_RE)}) "
                f"AND TRY_CAST({c} AS TIMESTAMPTZ) {TIMESTAMP_RANGE_SQL})",
                _is_timestamp,
            )
        )
    elif spec.kind == Kind.JSON:
        rules.append(
            Rule(
                spec.name,
                "is not a JSON object",
                f"(json_valid({c}) AND starts_with(ltrim({c}), '{{'))",
                _is_object,
                show_value=False,
            )
        )
    if spec.enum is not None:
        allowed = ", ".join(lit(v) for v in spec.enum)
        rules.append(
            Rule(
                spec.name,
                "is not one of " + ", ".join(spec.enum),
                f"{c} IN ({allowed})",
                _member(frozenset(spec.enum)),
                arrow_ok=_arrow_member(spec.enum),
            )
        )
    if spec.max_length is not None:
        rules.append(
            Rule(
                spec.name,
                f"is longer than {spec.max_length} characters",
                f"length({c}) <= {spec.max_length}",
                _shorter(spec.max_length),
                show_value=False,
                arrow_ok=_arrow_shorter(spec.max_length),
            )
        )
    return rules


# Per-feed rules beyond types.
FEED_RULES: dict[str, list[Rule]] = {
    "transactions": [
        Rule(
            "amount",
            "must not be negative (the sign is in direction)",
            "NOT starts_with(amount, '-')",
            _nonneg,
            arrow_ok=_arrow_nonneg,
        ),
        Rule(
            "mcc",
            "is not a 4-digit MCC",
            f"regexp_full_match(mcc, {lit(MCC_RE)})",
            _full(MCC_RE),
            arrow_ok=_arrow_full(MCC_RE),
        ),
    ],
    "telemetry": [
        Rule(
            name,
            "must not be negative",
            f"NOT starts_with({name}, '-')",
            _nonneg,
            arrow_ok=_arrow_nonneg,
        )
        for name in ("logins", "bill_pay", "p2p", "rdc")
    ],
    "accounts": [
        Rule(
            "credit_limit",
            "must not be negative",
            "NOT starts_with(credit_limit, '-')",
            _nonneg,
            arrow_ok=_arrow_nonneg,
        ),
    ],
}


def _no_nul(v: str) -> bool:
    return NUL not in v


def _arrow_no_nul(a: Any) -> Any:
    return pc.invert(pc.match_substring(a, NUL))


def nul_rule(spec: FieldSpec) -> Rule:
    return Rule(
        spec.name,
        "contains a NUL character",
        f"strpos({q(spec.name)}, chr(0)) = 0",
        _no_nul,
        show_value=False,
        arrow_ok=_arrow_no_nul,
    )


def rules_for(schema: FeedSchema) -> list[Rule]:
    out: list[Rule] = []
    for spec in schema.fields:
        if schema.name in NUL_CHECKED_FEEDS:
            out.append(nul_rule(spec))
        out.extend(kind_rules(spec))
    out.extend(FEED_RULES.get(schema.name, []))
    return out


def field_rules(schema: FeedSchema) -> dict[str, list[Rule]]:
    """The rules of each field (fields without rules are absent)."""
    out: dict[str, list[Rule]] = {}
    for rule in rules_for(schema):
        out.setdefault(rule.field, []).append(rule)
    return out


def field_ok_sql(rules: list[Rule]) -> str:
    """SQL boolean over one field's column: true when the value is null or passes every rule."""
    return " AND ".join(f"({q(r.field)} IS NULL OR coalesce({r.sql_ok}, false))" for r in rules)


def _close_before_open_sql() -> str:
    return (
        "CASE WHEN close_date IS NOT NULL AND open_date IS NOT NULL "
        "AND TRY_CAST(close_date AS DATE) < TRY_CAST(open_date AS DATE) "
        "THEN 'close_date: is before open_date' END"
    )


def error_terms_sql(schema: FeedSchema) -> list[str]:
    """SQL expressions, one per check, each NULL or a message ``"field: problem"``."""
    terms: list[str] = []
    specs = {s.name: s for s in schema.fields}
    for spec in schema.fields:
        if spec.required:
            terms.append(
                f"CASE WHEN {q(spec.name)} IS NULL THEN {lit(spec.name + ': is required')} END"
            )
    for group in schema.one_of:
        cond = " AND ".join(f"{q(n)} IS NULL" for n in group)
        msg = " or ".join(group) + ": one of them is required"
        terms.append(f"CASE WHEN {cond} THEN {lit(msg)} END")
    for rule in rules_for(schema):
        spec = specs[rule.field]
        shown = _shown_sql(spec) if rule.show_value else "''"
        terms.append(
            f"CASE WHEN {q(rule.field)} IS NOT NULL AND NOT coalesce({rule.sql_ok}, false) "
            f"THEN {lit(rule.field + ':')} || {shown} || {lit(' ' + rule.message)} END"
        )
    if schema.name == "accounts":
        terms.append(_close_before_open_sql())
    return terms


def ok_terms_sql(schema: FeedSchema) -> list[str]:
    """The same checks as :func:`error_terms_sql` as SQL booleans (true = passes): the bulk
    path filters with these (cheap), and builds messages only for the rows that fail."""
    terms: list[str] = []
    for spec in schema.fields:
        if spec.required:
            terms.append(f"{q(spec.name)} IS NOT NULL")
    for group in schema.one_of:
        terms.append("(" + " OR ".join(f"{q(n)} IS NOT NULL" for n in group) + ")")
    for rule in rules_for(schema):
        terms.append(f"({q(rule.field)} IS NULL OR coalesce({rule.sql_ok}, false))")
    if schema.name == "accounts":
        terms.append(
            "NOT coalesce(TRY_CAST(close_date AS DATE) < TRY_CAST(open_date AS DATE), false)"
        )
    return terms


def errors_sql(
    schema: FeedSchema, extra: list[str] | None = None, *, leading: list[str] | None = None
) -> str:
    """One SQL expression: the row's problems joined by ``"; "`` ('' when it is good)."""
    terms = [*(leading or []), *error_terms_sql(schema), *(extra or [])]
    return "concat_ws('; ', " + ", ".join(terms) + ")"


def as_text(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold (objects stay JSON); empty → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    text = str(value)
    return text or None


def validate_record(
    schema: FeedSchema, record: dict[str, Any]
) -> tuple[dict[str, str | None], list[str]]:
    """The record's fields as text and its problems, with the messages of :func:`errors_sql`."""
    values = {spec.name: as_text(record.get(spec.name)) for spec in schema.fields}
    problems: list[str] = []
    unknown = sorted(set(record) - set(schema.names))
    for spec in schema.fields:
        if spec.required and values[spec.name] is None:
            problems.append(f"{spec.name}: is required")
    for group in schema.one_of:
        if all(values[n] is None for n in group):
            problems.append(" or ".join(group) + ": one of them is required")
    specs = {s.name: s for s in schema.fields}
    for rule in rules_for(schema):
        value = values[rule.field]
        if value is None or rule.py_ok(value):
            continue
        shown = _shown_py(specs[rule.field], value) if rule.show_value else ""
        problems.append(f"{rule.field}:{shown} {rule.message}")
    if schema.name == "accounts":
        close, opened = values.get("close_date"), values.get("open_date")
        if close and opened and _is_date(close) and _is_date(opened) and close < opened:
            problems.append("close_date: is before open_date")
    if unknown:
        problems.append("unknown field(s): " + ", ".join(unknown[:10]))
    return values, problems


def first_field(problems: str) -> str:
    """The field a problem string is about (the text before the first ':')."""
    head = problems.split(";", 1)[0]
    return head.split(":", 1)[0].strip() if ":" in head else ""
