"""Lake → assignments on DuckDB and Spark: the small FI's expected KLIs, evidence, parity."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from sightline.insights.engines import Engine
from sightline.insights.pipeline import PrivateKli, compute_assignments
from sightline.insights.private import parse
from sightline.insights.rules import RuleSet, load_rules
from tests.insights import smallfi
from tests.insights.engine_fixtures import make_engine, spark_session  # noqa: F401

RULES = load_rules()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, set[str]]]:
    root = tmp_path_factory.mktemp("lake")
    expected = smallfi.build(root)
    return root, expected


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    eng = make_engine("duckdb", request)
    yield eng
    eng.close()


KEYS: dict[int, str] = {}


def lookup(key: str) -> int | None:
    code = smallfi.hash_lookup(key)
    if code is not None:
        KEYS[code] = key
    return code


def by_customer(table: pa.Table) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in table.to_pylist():
        out.setdefault(row["ucic"], set()).add(KEYS[row["kli_code"]])
    return out


def test_small_fi_gets_the_expected_klis(engine: Engine, lake: tuple[Path, dict]) -> None:
    root, expected = lake
    result = compute_assignments(
        engine, root, smallfi.PARTNER, as_of=smallfi.AS_OF, rules=RULES, codes=lookup
    )
    got = by_customer(result.assignments)
    for ucic, keys in expected.items():
        assert keys <= got[ucic], (ucic, keys - got[ucic])
    for ucic, keys in smallfi.FORBIDDEN.items():
        assert not keys & got[ucic], (ucic, keys & got[ucic])
    assert result.customers == 4
    assert "merchant:unknown-shop" in result.unmapped_keys
    # one row per (ucic, kli_code)
    pairs = list(
        zip(
            result.assignments["ucic"].to_pylist(),
            result.assignments["kli_code"].to_pylist(),
            strict=False,
        )
    )
    assert len(pairs) == len(set(pairs))


def test_evidence_explains_each_assignment(engine: Engine, lake: tuple[Path, dict]) -> None:
    root, _ = lake
    result = compute_assignments(
        engine, root, smallfi.PARTNER, as_of=smallfi.AS_OF, rules=RULES, codes=lookup
    )
    rows = {(r["ucic"], KEYS[r["kli_code"]]): r for r in result.assignments.to_pylist()}
    mortgage = json.loads(rows[("c1", "competitive_product:mortgage:wells-fargo")]["evidence"])
    assert mortgage["rule"] == "held_away_mortgage"
    assert mortgage["window_days"] == 120
    assert mortgage["count"] == 4
    assert mortgage["amount"] == 7400.0
    assert len(mortgage["txn_ids"]) == 2
    target = json.loads(rows[("c4", "merchant:target")]["evidence"])
    assert target["txn_ids"] == ['T"9\\']  # escaped, parsed back intact
    assert target["count"] == 1  # the 500-day-old purchase is outside the window
    churn = [r for (u, k), r in rows.items() if k.startswith("predictive:churn_risk:")]
    assert len(churn) == 4 and all(0 <= r["strength"] <= 1 for r in churn)
    c2_churn = next(r for (u, k), r in rows.items() if u == "c2" and "churn" in k)
    c1_churn = next(r for (u, k), r in rows.items() if u == "c1" and "churn" in k)
    assert c2_churn["strength"] > c1_churn["strength"]  # c2's balance fell from 9000 to 900
    for r in result.assignments.to_pylist():
        ev = json.loads(r["evidence"])
        assert set(ev) == {"rule", "window_days", "count", "amount", "txn_ids"}


def test_incremental_scope_computes_only_those_customers(
    engine: Engine, lake: tuple[Path, dict]
) -> None:
    root, _ = lake
    full = compute_assignments(
        engine, root, smallfi.PARTNER, as_of=smallfi.AS_OF, rules=RULES, codes=lookup
    )
    part = compute_assignments(
        engine,
        root,
        smallfi.PARTNER,
        as_of=smallfi.AS_OF,
        rules=RULES,
        codes=lookup,
        scope=["c2", "nobody"],
    )
    assert set(part.assignments["ucic"].to_pylist()) == {"c2"}
    full_c2 = full.assignments.filter(pa.compute.equal(full.assignments["ucic"], "c2"))
    assert part.assignments.equals(full_c2)  # same full windows for the customer


def test_private_klis_over_klis_and_attributes(engine: Engine, lake: tuple[Path, dict]) -> None:
    root, _ = lake
    mortgage = smallfi.key_code("fi_product:mortgage")
    wells = smallfi.key_code("competitive_bank:wells-fargo")
    private = [
        PrivateKli(1_900_000_001, parse(f"balance_band >= 3 and not kli({wells})")),
        PrivateKli(1_900_000_002, parse(f"kli({mortgage}) or ucic_type == 'B'")),
        PrivateKli(1_900_000_003, parse("age < 40")),  # c3 has no birth year: unknown → no
    ]
    result = compute_assignments(
        engine,
        root,
        smallfi.PARTNER,
        as_of=smallfi.AS_OF,
        rules=RULES,
        codes=lookup,
        private=private,
    )
    held: dict[int, set[str]] = {}
    for r in result.assignments.to_pylist():
        held.setdefault(r["kli_code"], set()).add(r["ucic"])
    assert held[1_900_000_001] == {"c3"}  # c1 has band 3 but banks with wells-fargo
    assert held[1_900_000_002] == {"c1", "c3"}
    assert held[1_900_000_003] == {"c2"}


def test_rule_union_sql_is_a_template_filled_per_refresh(
    lake: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached rule-union SQL, filled with a refresh's relations and as-of date, is exactly
    what compiling that refresh's rules gives; a second refresh (another engine, another date,
    a scope) reuses the template without building the rules again."""
    from datetime import timedelta

    from sightline.insights import pipeline
    from sightline.insights.compile import compile_base, compile_rules
    from sightline.insights.engines import DuckDBEngine
    from sightline.insights.inputs import load_inputs

    root, _ = lake
    monkeypatch.setattr(pipeline, "_sql_cache", {})
    built: list[object] = []
    real = pipeline.compile_rules

    def counting(c: object, rules: RuleSet) -> object:
        built.append(c)
        return real(c, rules)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "compile_rules", counting)
    for as_of, scope in ((smallfi.AS_OF, None), (smallfi.AS_OF + timedelta(days=40), ["c2"])):
        eng = DuckDBEngine(threads=1, memory_limit="1GB")
        try:
            scope_table = eng.from_arrow(pa.table({"ucic": scope})) if scope else None
            days = RULES.lookback_days()
            inputs = load_inputs(
                eng, root, smallfi.PARTNER, as_of=as_of, lookback_days=days, scope=scope_table
            )
            c = compile_base(inputs, RULES, eng.materialize, eng.view)
            sql = pipeline.rule_union_sql(eng, c, RULES)
            assert sql == eng.compile(compile_rules(c, RULES))
            assert "MAKE_DATE(1" not in sql.replace(f"MAKE_DATE({as_of.year - 1}", "")
        finally:
            eng.close()
    assert len(built) == 1  # the second refresh filled the cached template
    assert len(pipeline._sql_cache) == 1


def test_tables_stored_in_a_database_file_give_the_same_assignments(
    engine: Engine, lake: tuple[Path, dict], tmp_path: Path
) -> None:
    from sightline.insights.engines import DuckDBEngine

    root, _ = lake
    stored = DuckDBEngine(threads=2, memory_limit="1GB", storage_dir=tmp_path / "store")
    try:
        results = [
            compute_assignments(
                eng, root, smallfi.PARTNER, as_of=smallfi.AS_OF, rules=RULES, codes=lookup
            )
            for eng in (engine, stored)
        ]
    finally:
        stored.close()
    assert results[0].assignments.num_rows > 30
    assert results[0].assignments.equals(results[1].assignments)
    assert results[0].customers == results[1].customers


def _private() -> list[PrivateKli]:
    mortgage = smallfi.key_code("fi_product:mortgage")
    return [
        PrivateKli(1_900_000_010, parse(f"kli({mortgage}) and balance_band >= 2")),
        PrivateKli(1_900_000_011, parse("not (income_band <= 2 or ucic_type == 'B')")),
    ]


@pytest.mark.spark
@pytest.mark.slow  # ~1-3 min: a local Spark session runs every kind of rule; essential, kept
def test_duckdb_and_spark_give_identical_assignments(
    request: pytest.FixtureRequest, lake: tuple[Path, dict]
) -> None:
    """The parity test: one synthetic FI through both engines, compared row for row."""
    root, _ = lake
    # one or more rules of every kind and signal (the whole set only makes Spark slower)
    ids = {
        "merchant_activity", "category_spend", "held_away_mortgage", "competitive_apps",
        "coffee_drinker", "business_category_spend", "product_holdings", "bill_pay_user",
        "digital_active", "balance_band", "tenure_band", "age_band", "new_mover", "new_job",
        "retirement", "churn_risk", "activation_score",
    }  # fmt: skip
    rules = RuleSet(rules=tuple(r for r in RULES.rules if r.id in ids))
    assert {r.kind for r in rules.rules} == {r.kind for r in RULES.rules}
    results = {}
    for name in ("duckdb", "spark"):
        eng = make_engine(name, request)
        try:
            results[name] = compute_assignments(
                eng,
                root,
                smallfi.PARTNER,
                as_of=smallfi.AS_OF,
                rules=rules,
                codes=lookup,
                private=_private(),
            )
        finally:
            eng.close()
    duck, spark = results["duckdb"], results["spark"]
    assert duck.assignments.num_rows > 30
    assert duck.assignments.to_pylist() == spark.assignments.to_pylist()
    assert duck.customers == spark.customers
    assert duck.unmapped_keys == spark.unmapped_keys


@pytest.mark.parametrize("scoped", [False, True], ids=["full", "scoped"])
def test_computed_in_ucic_ranges_the_assignments_are_the_same(
    engine: Engine, lake: tuple[Path, dict], scoped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh too big for memory is computed range of customers by range (each rule reads
    one customer's rows): three ranges give exactly the one pass's rows, in the same order,
    private KLIs and the customer count included."""
    from sightline.insights import pipeline
    from sightline.insights.engines import DuckDBEngine

    root, expected = lake
    scope = sorted(expected)[:-1] if scoped else None
    ranged = DuckDBEngine(threads=2, memory_limit="1GB", parts=3)
    monkeypatch.setattr(pipeline, "SCOPE_RANGE_CUSTOMERS", 1)  # ranges of one customer each
    calls: list[object] = []
    original = pipeline._compute_range

    def counted(*args: object, **kwargs: object) -> pipeline.ComputeResult:
        calls.append(kwargs["ucic_range"])
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_compute_range", counted)
    try:
        results = [
            compute_assignments(
                eng,
                root,
                smallfi.PARTNER,
                as_of=smallfi.AS_OF,
                rules=RULES,
                codes=lookup,
                scope=scope,
                private=_private(),
            )
            for eng in (engine, ranged)
        ]
    finally:
        ranged.close()
    # one pass, then adjacent ranges from the first ucic to the last (up to three: the bounds
    # are quantiles of the rows, and a customer with many rows can hold two of them)
    ranges = calls[1:]
    assert calls[0] is None and 2 <= len(ranges) <= 3, calls
    assert ranges[0][0] is None and ranges[-1][1] is None  # type: ignore[index]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # type: ignore[index]
    one, three = results
    assert one.assignments.num_rows > (10 if scoped else 30)
    assert set(one.assignments["kli_code"].to_pylist()) & {1_900_000_010, 1_900_000_011}
    assert one.assignments.equals(three.assignments)
    assert (one.customers, one.unmapped_keys) == (three.customers, three.unmapped_keys)


def test_range_bounds_split_the_values_evenly_and_never_leave_an_empty_first_range() -> None:
    from sightline.insights.pipeline import _bounds

    assert _bounds([], 3) == [] and _bounds(["a"], 3) == []
    assert _bounds(list("aaabbbccc"), 3) == ["b", "c"]
    assert _bounds(list("abcdefgh"), 2) == ["e"]
    assert _bounds(list("aaaaaaaab"), 3) == []  # one customer holds every quantile: one range
    assert _bounds(list("aaaaaabbc"), 3) == ["b"]


def test_a_small_scope_is_one_range_whatever_the_estimate(
    lake: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's estimate is of every customer's rows: an incremental refresh of few
    customers is not split into as many ranges (each one a pass over the files)."""
    from sightline.insights import pipeline
    from sightline.insights.engines import DuckDBEngine

    root, expected = lake
    seen: list[object] = []
    original = pipeline._compute_range

    def counted(*args: object, **kwargs: object) -> pipeline.ComputeResult:
        seen.append(kwargs["ucic_range"])
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_compute_range", counted)
    ranged = DuckDBEngine(threads=2, memory_limit="1GB", parts=3)
    try:
        compute_assignments(
            ranged,
            root,
            smallfi.PARTNER,
            as_of=smallfi.AS_OF,
            rules=RULES,
            codes=lookup,
            scope=sorted(expected),
        )
    finally:
        ranged.close()
    assert seen == [None]


def test_spilled_ranges_are_read_back_the_same_and_deleted(
    lake: tuple[Path, dict], tmp_path: Path
) -> None:
    """With a spill directory each range's assignments are written there as computed and read
    back one at a time: the same rows, one file per range until :meth:`close`."""
    from sightline.insights.engines import DuckDBEngine

    root, _ = lake
    results = []
    for spill in (None, tmp_path / "spill"):
        ranged = DuckDBEngine(threads=2, memory_limit="1GB", parts=3)
        try:
            results.append(
                compute_assignments(
                    ranged,
                    root,
                    smallfi.PARTNER,
                    as_of=smallfi.AS_OF,
                    rules=RULES,
                    codes=lookup,
                    spill_dir=spill,
                )
            )
        finally:
            ranged.close()
    kept, spilled = results
    files = sorted((tmp_path / "spill").glob("*.arrow"))
    parts = list(spilled.parts)
    assert len(files) == len(parts) >= 2 and not list(kept.parts._files)
    assert all(p.num_rows for p in parts) and spilled.parts.num_rows == kept.parts.num_rows
    assert spilled.assignments.equals(kept.assignments)
    spilled.parts.close()
    assert not list((tmp_path / "spill").glob("*.arrow"))
