"""Publishing assignments into the serving DB: generations, counts, history, atomic swap."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text

from sightline.api.context import AppContext
from sightline.errors import BadRequest, NotFound
from sightline.insights import repository as repo
from sightline.insights.private import PRIVATE_CODE_BASE
from sightline.insights.publish import full_counts, publish_assignments, purge_stale_generations
from sightline.store import db
from sightline.taxonomy import CONSUMER_MORTGAGE_LOAN, code_for, load_taxonomy
from tests.conftest import PartnerKey
from tests.taxonomy.factories import Assignments, add_private_kli

D1, D2, D3 = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 11, 15)
CHECKING = code_for("fi_product:checking")
BILL_PAY = code_for("behaviour:bill_pay_user")
P2P = code_for("behaviour:p2p_user")
FI_PRODUCTS = code_for("branch:fi_products")
BEHAVIOUR = code_for("branch:customer_behaviour")


def _publish(context: AppContext, partner: str, a: Assignments, day: dt.date, *, full: bool = True):
    with db.transaction(context.sessions) as s:
        return publish_assignments(
            s, partner, a.table(), as_of=day, full=full, refresh_id=f"r-{day}"
        )


def _current(
    context: AppContext, partner: str
) -> dict[str, dict[int, tuple[str, str, float | None]]]:
    out: dict[str, dict[int, tuple[str, str, float | None]]] = {}
    with context.sessions() as s:
        d = repo.Db.of(s)
        for (ucic,) in d.fetch(
            "SELECT DISTINCT ucic FROM kli_assignment_sets WHERE partner_id = ?", (partner,)
        ):
            out[ucic] = {
                code: (repo.iso(f), repo.iso(la), st)
                for code, f, la, st in repo.ucic_assignments(d, partner, ucic)
            }
    return out


def _counts(context: AppContext, partner: str) -> dict[int, tuple[int, int]]:
    with context.sessions() as s:
        return repo.counts(repo.Db.of(s), partner)


def test_full_publish_counts_history_and_carry_over(context: AppContext, acme: PartnerKey) -> None:
    first = Assignments()
    for i in range(10):
        first.add(f"u{i:02d}", CHECKING)
        if i % 2 == 0:
            first.add(f"u{i:02d}", CONSUMER_MORTGAGE_LOAN, 0.8)
        if i < 3:
            first.add(f"u{i:02d}", BILL_PAY)
    summary = _publish(context, "acme", first, D1)
    assert (summary.generation, summary.version, summary.full) == (1, 1, True)
    assert summary.total_customers == 10
    assert summary.total_assignments == summary.assignments == 18
    assert summary.gained == summary.lost == 0  # the first publication is the baseline

    counts = _counts(context, "acme")
    assert counts[CHECKING] == (10, 10)
    assert counts[CONSUMER_MORTGAGE_LOAN] == (5, 5)
    # ancestors count distinct customers holding any descendant; nobody holds them directly
    assert counts[FI_PRODUCTS] == (10, 0)
    assert counts[BEHAVIOUR] == (3, 0)

    second = Assignments()
    for i in range(10):
        if i != 0:
            second.add(f"u{i:02d}", CHECKING)
        if i < 3:
            second.add(f"u{i:02d}", BILL_PAY, 0.5)
    second.add("u99", P2P)
    summary = _publish(context, "acme", second, D2)
    assert (summary.generation, summary.version) == (1, 2)  # rewritten in place
    assert summary.gained == 1  # u99 P2P
    assert summary.lost == 6  # u00 checking + five mortgages

    now = _current(context, "acme")
    assert set(now) == {f"u{i:02d}" for i in range(10)} | {"u99"}
    assert now["u01"][CHECKING] == ("2026-10-01", "2026-11-01", None)  # first date carried
    assert now["u00"] == {BILL_PAY: ("2026-10-01", "2026-11-01", 0.5)}
    assert now["u99"] == {P2P: ("2026-11-01", "2026-11-01", None)}
    counts = _counts(context, "acme")
    assert CONSUMER_MORTGAGE_LOAN not in counts
    assert counts[FI_PRODUCTS] == (9, 0)
    assert counts[BEHAVIOUR] == (4, 0)

    with db.transaction(context.sessions) as s:
        assert repo.gained_between(s, "acme", P2P, D1, D3) == [("u99", D2)]
        assert repo.gained_between(s, "acme", CHECKING, D2, D3) == []
        assert repo.gained_between(s, "acme", CHECKING, D1, D1) == []  # baseline, not gains
        history = repo.history_of(s, "acme", "u00")
        assert sorted(history, key=lambda h: (h[2], h[1], h[0])) == history
        assert set(history) == {(CHECKING, "lost", D2), (CONSUMER_MORTGAGE_LOAN, "lost", D2)}
        # nothing left behind by the full publication; a stale generation (as earlier versions
        # wrote one per full publication) is invisible and purged
        assert purge_stale_generations(s, "acme") == 0
        d = repo.Db.of(s)
        d.execute(
            "INSERT INTO kli_assignment_sets (partner_id, generation, ucic, last_assigned, klis)"
            " SELECT partner_id, 0, ucic, last_assigned, klis FROM kli_assignment_sets"
        )
        d.execute("INSERT INTO kli_counts SELECT partner_id, 0, kli_code, 1, 1 FROM kli_counts")
        assert _counts(context, "acme") == counts
        assert purge_stale_generations(s, "acme") == 11 + len(counts)
        assert purge_stale_generations(s, "acme") == 0

    # a lost KLI regained starts a new streak
    third = Assignments().add("u00", CHECKING)
    _publish(context, "acme", third, D3, full=False)
    assert _current(context, "acme")["u00"][CHECKING] == ("2026-11-15", "2026-11-15", None)
    with db.transaction(context.sessions) as s:
        assert repo.gained_between(s, "acme", CHECKING, D3, D3) == [("u00", D3)]
        assert (BILL_PAY, "lost", D3) in repo.history_of(s, "acme", "u00")


def test_incremental_replaces_only_given_customers(context: AppContext, acme: PartnerKey) -> None:
    base = Assignments()
    for i in range(6):
        base.add(f"c{i}", CHECKING).add(f"c{i}", BILL_PAY)
    _publish(context, "acme", base, D1)

    inc = Assignments().add("c0", CHECKING).add("c0", P2P).add("c9", CONSUMER_MORTGAGE_LOAN)
    table = pa.concat_tables(
        [inc.table(), pa.table({"ucic": ["c1"], "kli_code": pa.array([None], pa.int64())})],
        promote_options="default",
    )
    with db.transaction(context.sessions) as s:
        summary = publish_assignments(s, "acme", table, as_of=D2, full=False, refresh_id="inc-1")
    assert summary.full is False and summary.generation == 1 and summary.version == 2
    assert summary.gained == 2 and summary.lost == 3  # c0 bill pay, c1 both
    assert summary.total_customers == 6  # c1 gone, c9 new
    assert summary.total_assignments == 12 - 4 + 3

    now = _current(context, "acme")
    assert "c1" not in now
    assert now["c0"] == {
        CHECKING: ("2026-10-01", "2026-11-01", None),
        P2P: ("2026-11-01",) * 2 + (None,),
    }
    assert now["c2"][CHECKING] == ("2026-10-01", "2026-10-01", None)  # untouched
    # incremental counts equal counts recomputed from scratch
    with context.sessions() as s:
        rows = list(repo.current_assignments(repo.Db.of(s), "acme"))
    table = pa.table(
        {"ucic": [r[0] for r in rows], "kli_code": pa.array([r[1] for r in rows], pa.int64())}
    )
    expected = {c: (u, d) for c, u, d in full_counts(table, load_taxonomy())}
    assert _counts(context, "acme") == expected


def test_readers_see_old_set_until_commit(
    context: AppContext, acme: PartnerKey, database_url: str
) -> None:
    _publish(context, "acme", Assignments().add("r1", CHECKING), D1)
    url = (
        database_url
        if database_url.startswith("sqlite")
        else database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    reader = create_engine(url)
    query = text(
        "SELECT count(*) FROM kli_assignment_sets a JOIN kli_publications p"
        " ON p.partner_id = a.partner_id AND p.generation = a.generation"
        " WHERE a.partner_id = 'acme'"
    )
    big = Assignments()
    for i in range(500):
        big.add(f"n{i:04d}", CHECKING)
    with context.sessions() as s:
        publish_assignments(s, "acme", big.table(), as_of=D2, full=True, refresh_id="big")
        with reader.connect() as conn:
            assert conn.execute(query).scalar() == 1  # mid-publish: still the old set
        s.commit()
    with reader.connect() as conn:
        assert conn.execute(query).scalar() == 500
    reader.dispose()


def test_bad_input_is_a_clear_error(context: AppContext, acme: PartnerKey) -> None:
    with db.transaction(context.sessions) as s:
        with pytest.raises(BadRequest, match="unknown KLI codes for this partner: 12345"):
            publish_assignments(
                s,
                "acme",
                Assignments().add("x", 12345).table(),
                as_of=D1,
                full=True,
                refresh_id="r",
            )
        with pytest.raises(BadRequest, match="repeats"):
            dup = Assignments().add("x", CHECKING).add("x", CHECKING)
            publish_assignments(s, "acme", dup.table(), as_of=D1, full=True, refresh_id="r")
        with pytest.raises(BadRequest, match="Field kli_code is required"):
            publish_assignments(
                s, "acme", pa.table({"ucic": ["x"]}), as_of=D1, full=True, refresh_id="r"
            )
        with pytest.raises(BadRequest, match="Field ucic must not be null"):
            publish_assignments(
                s,
                "acme",
                pa.table({"ucic": [None], "kli_code": [CHECKING]}),
                as_of=D1,
                full=True,
                refresh_id="r",
            )
        with pytest.raises(NotFound):
            publish_assignments(
                s,
                "nobody",
                Assignments().add("x", CHECKING).table(),
                as_of=D1,
                full=True,
                refresh_id="r",
            )


def test_private_klis_belong_to_their_partner(
    context: AppContext, acme: PartnerKey, globex: PartnerKey
) -> None:
    with db.transaction(context.sessions) as s:
        add_private_kli(s, "acme", PRIVATE_CODE_BASE, "Acme VIP", parent=None)
    a = Assignments().add("v1", PRIVATE_CODE_BASE).add("v1", CHECKING)
    assert _publish(context, "acme", a, D1).total_assignments == 2
    assert _counts(context, "acme")[PRIVATE_CODE_BASE] == (1, 1)
    with pytest.raises(BadRequest, match=str(PRIVATE_CODE_BASE)):
        _publish(context, "globex", a, D1)


def test_bulk_load_keeps_every_value_in_and_out_of_key_order(
    context: AppContext, acme: PartnerKey
) -> None:
    """More rows than one multi-row INSERT holds (and a remainder), given out of key order:
    every row arrives with its own values; a second publish carries first dates over."""
    rows = [
        (f"c{i:04d}", code, (i % 7) / 7 if i % 3 else None, f'{{"n":{i}}}' if i % 5 else None)
        for i in range(125)
        for code in (CHECKING, P2P)
    ]
    table = pa.table(
        {
            "ucic": pa.array([r[0] for r in reversed(rows)], pa.string()),
            "kli_code": pa.array([r[1] for r in reversed(rows)], pa.int64()),
            "strength": pa.array([r[2] for r in reversed(rows)], pa.float64()),
            "evidence": pa.array([r[3] for r in reversed(rows)], pa.string()),
        }
    )
    for day in (D1, D2):
        with db.transaction(context.sessions) as s:
            summary = publish_assignments(
                s, "acme", table, as_of=day, full=True, refresh_id=f"bulk-{day}"
            )
        assert summary.total_assignments == 250 and summary.total_customers == 125
    with context.sessions() as s:
        got = list(repo.current_assignments(repo.Db.of(s), "acme"))
    assert [(u, c, repo.iso(f), repo.iso(la), st, ev) for u, c, f, la, st, ev in got] == [
        (u, c, "2026-10-01", "2026-11-01", st, ev) for u, c, st, ev in sorted(rows)
    ]
    assert _counts(context, "acme")[CHECKING] == (125, 125)
