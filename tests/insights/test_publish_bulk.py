"""The bulk paths of publishing: per-KLI counts, reading the current set back, the write cache."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest
from sqlalchemy import text

from sightline.api.context import AppContext
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
        rows = repo.Db.of(s).fetch(
            "SELECT ucic, kli_code, first_assigned, last_assigned FROM kli_assignments a"
            " JOIN kli_publications p USING (partner_id, generation) WHERE a.partner_id = ?",
            ("acme",),
        )
    return {(u, int(c)): (repo.iso(f), repo.iso(la)) for u, c, f, la in rows}


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
