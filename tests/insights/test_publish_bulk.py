"""The bulk paths of publishing: per-KLI counts, reading the current set back, the write cache."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest
from sqlalchemy import text

from sightline.api.context import AppContext
from sightline.errors import BadRequest
from sightline.insights import publish
from sightline.insights import repository as repo
from sightline.insights.private import PRIVATE_CODE_BASE
from sightline.insights.publish import full_counts, publish_assignments
from sightline.store import db
from sightline.taxonomy import CONSUMER_MORTGAGE_LOAN, code_for, load_taxonomy
from sightline.taxonomy.loader import Taxonomy
from tests.conftest import PartnerKey
from tests.taxonomy.factories import add_private_kli

D1, D2, D3 = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 11, 15)
CHECKING = code_for("fi_product:checking")
P2P = code_for("behaviour:p2p_user")
# customer ids CSV or SQL text would trip over
AWKWARD = ["a,b", 'q"uote', "new\nline", "semi;colon", "tab\tbed", "ünï", " lead", "x" * 64]


def _reference_counts(pairs: list[tuple[str, int]], tree: Taxonomy) -> list[tuple[int, int, int]]:
    subtree: dict[int, set[str]] = {}
    direct: dict[int, int] = {}
    for ucic, code in pairs:
        direct[code] = direct.get(code, 0) + 1
        for node in (code, *tree.ancestors(code)):
            subtree.setdefault(node, set()).add(ucic)
    return sorted((c, len(u), direct.get(c, 0)) for c, u in subtree.items())


def _pairs_table(pairs: list[tuple[str, int]]) -> pa.Table:
    return pa.table(
        {
            "ucic": pa.array([u for u, _ in pairs], pa.string()),
            "kli_code": pa.array([c for _, c in pairs], pa.int64()),
        }
    )


def test_full_counts_match_a_set_per_kli() -> None:
    """Leaves at every depth, inner nodes held directly beside their descendants, customers
    sharing parents, rows in random order, a null-code marker: the level-by-level count equals
    the set of customers per KLI and its subtree."""
    tree = load_taxonomy()
    rng = random.Random(11)
    codes = sorted(tree.nodes)
    leaves = [c for c in codes if not tree.children.get(c)]
    inner = [c for c in codes if tree.children.get(c)]
    assert len({len(tree.ancestors(c)) for c in leaves}) > 1  # several leaf depths
    pairs: set[tuple[str, int]] = set()
    for i in range(400):
        ucic = f"u{i:04d}"
        pool = leaves[:60] if i % 2 else leaves[-60:]  # neighbours share ancestors
        for code in rng.sample(pool, rng.randint(1, 12)):
            pairs.add((ucic, code))
        if i % 5 == 0:
            pairs.add((ucic, rng.choice(inner)))
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    table = pa.concat_tables(
        [
            _pairs_table(shuffled),
            pa.table({"ucic": ["gone"], "kli_code": pa.array([None], pa.int64())}),
        ]
    )
    assert full_counts(table, tree) == _reference_counts(shuffled, tree)
    assert full_counts(table.slice(len(shuffled)), tree) == []


def test_full_counts_with_a_private_kli_under_a_public_one(
    context: AppContext, acme: PartnerKey
) -> None:
    with db.transaction(context.sessions) as s:
        add_private_kli(s, "acme", PRIVATE_CODE_BASE, "Acme VIP", parent=CHECKING)
        tree = repo.partner_tree(repo.Db.of(s), "acme")
    pairs = [("v1", PRIVATE_CODE_BASE), ("v1", CHECKING), ("v2", PRIVATE_CODE_BASE), ("v3", P2P)]
    got = full_counts(_pairs_table(pairs), tree)
    assert got == _reference_counts(pairs, tree)
    assert (CHECKING, 2, 1) in got and (PRIVATE_CODE_BASE, 2, 2) in got


def _publish(context: AppContext, table: pa.Table, day: dt.date, *, full: bool) -> None:
    with db.transaction(context.sessions) as s:
        publish_assignments(s, "acme", table, as_of=day, full=full, refresh_id=f"r-{day}-{full}")


def _stored(context: AppContext) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    with context.sessions() as s:
        rows = list(repo.current_assignments(repo.Db.of(s), "acme"))
    return {(u, int(c)): (repo.iso(f), repo.iso(la)) for u, c, f, la, _, _ in rows}


def test_first_dates_carried_for_awkward_ids_full_and_incremental(
    context: AppContext, acme: PartnerKey
) -> None:
    """Reading the current set back (SQLite: one concatenated text per customer, parsed as CSV;
    PostgreSQL: COPY) keeps every customer id as it is, whatever characters it holds."""
    codes = (CHECKING, P2P, CONSUMER_MORTGAGE_LOAN)
    first = [(u, c) for u in AWKWARD for c in codes]
    _publish(context, _pairs_table(sorted(first)), D1, full=True)

    # full: the mortgage lost by everyone, a new customer, the rest carried from D1
    second = [(u, c) for u, c in first if c != CONSUMER_MORTGAGE_LOAN] + [("new", CHECKING)]
    _publish(context, _pairs_table(sorted(second)), D2, full=True)
    expected = dict.fromkeys(second, ("2026-10-01", "2026-11-01"))
    expected[("new", CHECKING)] = ("2026-11-01", "2026-11-01")
    assert _stored(context) == expected
    with db.transaction(context.sessions) as s:
        lost = repo.history_of(s, "acme", 'q"uote')
    assert lost == [(CONSUMER_MORTGAGE_LOAN, "lost", D2)]

    # incremental for three awkward customers: one keeps checking and regains the mortgage
    inc = [("a,b", CHECKING), ("a,b", CONSUMER_MORTGAGE_LOAN), ("new\nline", P2P)]
    marker = pa.table({"ucic": ["x" * 64], "kli_code": pa.array([None], pa.int64())})
    _publish(context, pa.concat_tables([_pairs_table(inc), marker]), D3, full=False)
    for key in [k for k in expected if k[0] in {"a,b", "new\nline", "x" * 64}]:
        del expected[key]
    expected[("a,b", CHECKING)] = ("2026-10-01", "2026-11-15")
    expected[("a,b", CONSUMER_MORTGAGE_LOAN)] = ("2026-11-15", "2026-11-15")
    expected[("new\nline", P2P)] = ("2026-10-01", "2026-11-15")
    assert _stored(context) == expected


def test_publish_restores_the_connections_cache_size(
    context: AppContext, acme: PartnerKey, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the write cache is SQLite's page cache")
    with context.sessions() as s:
        d = repo.Db.of(s)
        d.execute("PRAGMA cache_size = -3000")
        publish_assignments(
            s, "acme", _pairs_table([("c1", CHECKING)]), as_of=D1, full=True, refresh_id="c"
        )
        assert d.fetch("PRAGMA cache_size") == [(-3000,)]
        s.commit()


def test_incremental_after_a_private_kli_was_deleted(context: AppContext, acme: PartnerKey) -> None:
    """A deleted private KLI still held in the current set: the customer's next incremental
    publish drops it and its count, and nothing trips over the code the tree no longer has."""
    with db.transaction(context.sessions) as s:
        add_private_kli(s, "acme", PRIVATE_CODE_BASE, "Acme VIP", parent=None)
    base = [("v1", PRIVATE_CODE_BASE), ("v1", CHECKING), ("v2", PRIVATE_CODE_BASE)]
    _publish(context, _pairs_table(base), D1, full=True)
    with db.transaction(context.sessions) as s:
        s.execute(text("DELETE FROM kli_private WHERE kli_code = :c"), {"c": PRIVATE_CODE_BASE})
    _publish(context, _pairs_table([("v1", CHECKING)]), D2, full=False)
    with context.sessions() as s:
        counts = repo.counts(repo.Db.of(s), "acme")
    assert counts[PRIVATE_CODE_BASE] == (1, 1)  # v2 still holds it until recomputed
    assert counts[CHECKING] == (1, 1)
    assert set(_stored(context)) == {("v1", CHECKING), ("v2", PRIVATE_CODE_BASE)}


def _rows_table(rows: list[tuple[str, int, float | None, str | None]]) -> pa.Table:
    return pa.table(
        {
            "ucic": pa.array([r[0] for r in rows], pa.string()),
            "kli_code": pa.array([r[1] for r in rows], pa.int64()),
            "strength": pa.array([r[2] for r in rows], pa.float64()),
            "evidence": pa.array([r[3] for r in rows], pa.string()),
        }
    )


# evidence texts the packed format must give back byte for byte: separators of the klis text,
# multi-byte characters (lengths are UTF-8 bytes), empty and null
EVIDENCE = ['{"a":1}', "x,y\nz", "ünï€𝄞", "", None, '{"t":["T1","T2"]}' * 20]
STRENGTHS = [None, 0.1, 1.0, 1 / 3, 1e-300, 123456789.125, -0.0]


@pytest.mark.parametrize("limit", [("PACK_ROWS", 5), ("PACK_BYTES", 60)])
def test_packed_sets_keep_every_value_across_slices(
    context: AppContext,
    acme: PartnerKey,
    monkeypatch: pytest.MonkeyPatch,
    limit: tuple[str, int],
) -> None:
    """Slices of a few rows or evidence bytes (customers never split), awkward ids, every kind
    of evidence and strength: what is read back (assignments, evidence, first dates after an
    incremental) is exactly what was published."""
    monkeypatch.setattr(publish, *limit)
    codes = sorted([CHECKING, P2P, CONSUMER_MORTGAGE_LOAN])
    rows = []
    for i, ucic in enumerate(sorted(AWKWARD + [f"c{n}" for n in range(7)])):
        for j, code in enumerate(codes[: 1 + (i % 3)]):
            rows.append((ucic, code, STRENGTHS[(i + j) % 7], EVIDENCE[(i * 2 + j) % 6]))
    _publish(context, _rows_table(rows), D1, full=True)
    with context.sessions() as s:
        d = repo.Db.of(s)
        got = [
            (u, c, f, repo.iso(la), st, ev)
            for u, c, f, la, st, ev in repo.current_assignments(d, "acme")
        ]
        evidence = {(u, c): repo.evidence(d, "acme", u, c) for u, c, _, _ in rows}
    assert got == [(u, c, "2026-10-01", "2026-10-01", st, ev) for u, c, st, ev in rows]
    assert all(isinstance(st, float) or st is None for *_, st, _ in got)
    assert evidence == {(u, c): ev for u, c, _, ev in rows}

    # incremental: one awkward customer gains a KLI, one loses all (marker), one is new
    inc = [("a,b", code, 0.5, "ünï") for code in codes] + [("zz", P2P, None, None)]
    marker = _rows_table([("new\nline", None, None, None)])  # type: ignore[list-item]
    _publish(context, pa.concat_tables([_rows_table(inc), marker]), D2, full=False)
    expected = {
        (u, c): ("2026-10-01", "2026-10-01", st, ev)
        for u, c, st, ev in rows
        if u not in {"a,b", "new\nline"}
    }
    held_before = {c for u, c, _, _ in rows if u == "a,b"}
    for u, c, st, ev in inc:
        first = "2026-10-01" if u == "a,b" and c in held_before else "2026-11-01"
        expected[(u, c)] = (first, "2026-11-01", st, ev)
    with context.sessions() as s:
        got = list(repo.current_assignments(repo.Db.of(s), "acme"))
    assert {(u, c): (repo.iso(f), repo.iso(la), st, ev) for u, c, f, la, st, ev in got} == (
        expected
    )
    assert [(u, c) for u, c, *_ in got] == sorted(expected)


def test_holders_same_with_and_without_the_sql_prefilter(
    context: AppContext, acme: PartnerKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customers holding any of some codes, paged: the LIKE prefilter (a code at the start
    of a line, not inside another code or a date) answers as Python's own filter does."""
    codes = [CHECKING, P2P, CONSUMER_MORTGAGE_LOAN]
    rows = [
        (f"h{i:03d}", code, (i % 4) / 4 or None, None)
        for i in range(60)
        for code in codes
        if (i + code) % 3
    ]
    day = {u: D1 for u, *_ in rows}
    _publish(context, _rows_table(rows), D1, full=True)
    later = [r for r in rows if r[0] < "h020"]
    _publish(context, _rows_table(later), D2, full=False)
    day.update({u: D2 for u, *_ in later})

    def pages(wanted: list[int]) -> list[repo.Row]:
        out: list[repo.Row] = []
        after = ""
        with context.sessions() as s:
            while page := repo.holders(repo.Db.of(s), "acme", wanted, after=after, limit=7):
                out += [(u, repo.iso(f), repo.iso(la), st) for u, f, la, st in page]
                after = page[-1][0]
        return out

    for wanted in ([P2P], [CHECKING, CONSUMER_MORTGAGE_LOAN], codes, [12345]):
        expected = []
        for ucic in sorted({u for u, *_ in rows}):
            mine = [r for r in rows if r[0] == ucic and r[1] in wanted]
            if mine:
                values = [r[2] for r in mine if r[2] is not None]
                expected.append(
                    # first dates carried over: the incremental only republished pairs
                    (ucic, D1.isoformat(), day[ucic].isoformat(), max(values, default=None))
                )
        first = pages(wanted)
        monkeypatch.setattr(repo, "HOLDER_PREFILTER_CODES", 0)
        assert pages(wanted) == first == expected
        monkeypatch.undo()


def test_migration_carries_assignments_both_ways(database_url: str) -> None:
    """kli_0001's one row per KLI → kli_0002's one row per customer and back, every value kept
    (two partners, two generations, awkward ids and evidence)."""
    db.downgrade(database_url, "kli_0001")
    engine = db.make_engine(database_url)
    rows = [
        ("acme", 1, "a,b", CHECKING, "2026-09-01", "2026-10-01", 0.25, '{"n":"ü"}'),
        ("acme", 1, "a,b", P2P, "2026-10-01", "2026-10-01", None, None),
        ("acme", 1, "new\nline", P2P, "2026-10-01", "2026-10-01", 1 / 3, "x,y\nz"),
        ("acme", 2, "a,b", P2P, "2026-10-01", "2026-11-01", None, ""),
        ("globex", 1, "a,b", CONSUMER_MORTGAGE_LOAN, "2026-08-01", "2026-10-01", 2.0, "{}"),
    ]
    select = text(
        "SELECT partner_id, generation, ucic, kli_code, first_assigned, last_assigned, strength,"
        " evidence FROM kli_assignments ORDER BY partner_id, generation, ucic, kli_code"
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO kli_assignments VALUES (:p, :g, :u, :c, :f, :la, :s, :e)"
                if database_url.startswith("sqlite")
                else "INSERT INTO kli_assignments VALUES (:p, :g, :u, :c, CAST(:f AS date),"
                " CAST(:la AS date), :s, :e)"
            ),
            [dict(zip(("p", "g", "u", "c", "f", "la", "s", "e"), r, strict=True)) for r in rows],
        )
    engine.dispose()
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        sets = conn.execute(
            text("SELECT partner_id, generation, ucic, klis FROM kli_assignment_sets")
        ).all()
    assert len(sets) == 4
    packed = {(p, g, u): repo.parse_klis(bytes(k)) for p, g, u, k in sets}
    assert packed[("acme", 1, "a,b")] == [
        (CHECKING, "2026-09-01", 0.25, 10),
        (P2P, "2026-10-01", None, None),
    ]
    engine.dispose()
    db.downgrade(database_url, "kli_0001")
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        back = [
            (p, g, u, c, repo.iso(f), repo.iso(la), s, e)
            for p, g, u, c, f, la, s, e in conn.execute(select).all()
        ]
    engine.dispose()
    assert back == sorted(rows)
    db.upgrade(database_url)


def test_evidence_limit_counts_characters(context: AppContext, acme: PartnerKey) -> None:
    """4,000 characters of evidence pass however many UTF-8 bytes they take; 4,001 do not."""
    wide = "€" * 4000  # 12,000 bytes
    _publish(context, _rows_table([("w", CHECKING, None, wide)]), D1, full=True)
    with context.sessions() as s:
        assert repo.evidence(repo.Db.of(s), "acme", "w", CHECKING) == wide
    with db.transaction(context.sessions) as s, pytest.raises(BadRequest, match="at most 4000"):
        publish_assignments(
            s, "acme", _rows_table([("w", CHECKING, None, wide + "x")]), as_of=D2, full=True,
            refresh_id="too-long",
        )  # fmt: skip
