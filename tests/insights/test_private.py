"""Private KLI expressions: the text syntax, errors, and Python evaluation == compiled Ibis."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sightline.insights.engines import DuckDBEngine
from sightline.insights.private import (
    Attribute,
    ExpressionError,
    compile_expr,
    evaluate,
    from_json,
    parse,
    referenced_codes,
    to_text,
)


def test_parse_and_print_round_trip() -> None:
    text = "kli(8616201) and not kli(39668008) and balance_band >= 3"
    expr = parse(text)
    assert to_text(expr) == text
    assert referenced_codes(expr) == {8616201, 39668008}
    nested = parse("(kli(1) or kli(2)) and (ucic_type == 'B' or NOT age < 30.5)")
    assert to_text(nested) == '(kli(1) or kli(2)) and (ucic_type == "B" or not age < 30.5)'
    assert from_json(nested.model_dump(mode="json")) == nested


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is required"),
        ("kli(", "ends too early"),
        ("kli(abc)", "takes a KLI code"),
        ("shoe_size > 3", "unknown attribute 'shoe_size'"),
        ("balance_band >> 3", "expected a value after"),
        ("balance_band 3", "expected a comparison"),
        ("ucic_type > 'B'", "only == and !="),
        ("balance_band == 'high'", "compares with a number"),
        ("kli(1) kli(2)", "unexpected 'kli'"),
        ("kli(1) and " * 120 + "kli(1)", "at most 20 items"),
        ("not " * 20 + "kli(1)", "too complex"),
        ("kli(1); DROP TABLE x", "unexpected text"),
    ],
)
def test_bad_expressions_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert message in str(info.value)
    assert all(m.startswith("Field expression") for m in info.value.messages)


def test_unknown_logic_is_sql_like() -> None:
    expr = parse("not age < 40")
    assert evaluate(expr, set(), {"age": 50})
    assert not evaluate(expr, set(), {"age": None})  # unknown stays unknown under NOT
    assert evaluate(parse("kli(1) or age < 40"), {1}, {})
    assert not evaluate(parse("kli(1) and age < 40"), {1}, {})
    assert evaluate(parse("kli(10)"), {12}, {}, expand)  # a branch stands for its subtree
    assert not evaluate(parse("kli(10)"), {12}, {})


# --- Python evaluation and the compiled form agree ----------------------------------------------

CODES = [10, 11, 12, 13]  # 10 is a branch over 11 and 12


def expand(code: int) -> tuple[int, ...]:
    return (10, 11, 12) if code == 10 else (code,)


leaf = st.one_of(
    st.builds(lambda c: {"op": "kli", "code": c}, st.sampled_from(CODES)),
    st.builds(
        lambda a, op, v: {"op": "cmp", "attribute": a, "cmp": op, "value": v},
        st.sampled_from(["balance_band", "age", "open_products"]),
        st.sampled_from(["==", "!=", ">", ">=", "<", "<="]),
        st.integers(0, 5).map(float),
    ),
    st.builds(
        lambda op, v: {"op": "cmp", "attribute": "ucic_type", "cmp": op, "value": v},
        st.sampled_from(["==", "!="]),
        st.sampled_from(["I", "B"]),
    ),
)
trees = st.recursive(
    leaf,
    lambda kids: st.one_of(
        st.builds(lambda a: {"op": "not", "arg": a}, kids),
        st.builds(lambda xs: {"op": "and", "args": xs}, st.lists(kids, min_size=2, max_size=3)),
        st.builds(lambda xs: {"op": "or", "args": xs}, st.lists(kids, min_size=2, max_size=3)),
    ),
    max_leaves=6,
)
PEOPLE: list[dict[str, Any]] = [
    {"ucic": f"u{i}", "balance_band": b, "age": a, "open_products": p, "ucic_type": t}
    for i, (b, a, p, t) in enumerate(
        [(1, 3, 0, "I"), (3, None, 2, "B"), (None, 5, 1, None), (2, 2, None, "I"), (5, 0, 4, "B")]
    )
]
HELD = {"u0": {11}, "u1": {11, 12}, "u3": {13}, "u4": {12, 13}}


@pytest.fixture(scope="module")
def tables() -> Any:
    engine = DuckDBEngine(threads=1, memory_limit="512MB")
    cols: dict[str, pa.Array] = {"ucic": pa.array([p["ucic"] for p in PEOPLE])}
    for attr in Attribute:
        values = [p.get(attr.value) for p in PEOPLE]
        kind = pa.string() if attr is Attribute.UCIC_TYPE else pa.float64()
        cols[attr.value] = pa.array(values, kind)
    people = engine.from_arrow(pa.table(cols))
    pairs = [(u, c) for u, cs in HELD.items() for c in sorted(cs)]
    held = engine.from_arrow(
        pa.table(
            {"ucic": [u for u, _ in pairs], "kli_code": pa.array([c for _, c in pairs], pa.int64())}
        )
    )
    yield people, held
    engine.close()


@settings(max_examples=60, deadline=None)
@given(tree=trees)
def test_python_and_compiled_agree(tree: dict[str, Any], tables: Any) -> None:
    people, held = tables
    expr = from_json(tree)
    cond = compile_expr(expr, people, held, expand)
    compiled = people.filter(cond).ucic.to_pyarrow().to_pylist()
    python = [p["ucic"] for p in PEOPLE if evaluate(expr, HELD.get(p["ucic"], set()), p, expand)]
    assert sorted(compiled) == python, to_text(expr)
    assert isinstance(ibis.literal(1), ibis.expr.types.Scalar)
