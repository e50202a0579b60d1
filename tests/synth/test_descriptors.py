"""Descriptors look like real US statements: widths, processors, bank styles, ACH layouts."""

from __future__ import annotations

import re

import numpy as np

from sightline.synth.catalog import build_catalog, statement_text
from sightline.synth.generator import SynthResult
from tests.synth.fake_directory import FAKE_DIRECTORY
from tests.synth.test_generator import read_strings, truth


def _descriptions(fi: SynthResult) -> list[str]:
    return read_strings(fi.out / "transactions").column("description").to_pylist()


def test_card_merchant_fields_are_cut_to_the_network_width() -> None:
    catalog = build_catalog(FAKE_DIRECTORY, seed=1)
    e = catalog.entities
    pool = e.pool.to_pylist()
    widths = []
    for ent in np.flatnonzero(e.physical):
        for s in pool[e.pool_off[ent] : e.pool_off[ent] + e.pool_len[ent]]:
            widths.append(len(s))
            assert len(s.rstrip()) <= 25 or re.search(r" \d{4}$", s), s
    assert 22 in widths and 25 in widths


def test_long_names_are_truncated_in_the_feed(fi: SynthResult) -> None:
    tx = read_strings(fi.out / "transactions").to_pylist()
    tt = {r["txn_id"]: r for r in truth(fi.out, "transactions_truth").to_pylist()}
    long_names = 0
    cut = 0
    for r in tx:
        t = tt[r["txn_id"]]
        if t["transaction_kind"] != "card_purchase" or not t["merchant_name"] or t["sub_merchant"]:
            continue
        full = statement_text(str(t["merchant_name"]))
        if len(full) <= 24:
            continue
        long_names += 1
        name = re.sub(r"[^A-Z0-9]", "", full)
        desc = re.sub(r"[^A-Z0-9]", "", r["description"])
        if name not in desc:
            cut += 1
            assert name[:10] in desc, (full, r["description"])
    assert long_names > 50
    assert cut / long_names > 0.5


def test_processor_prefixes_and_marketplace_sub_merchants(fi: SynthResult) -> None:
    text = "\n".join(_descriptions(fi))
    for prefix in ("SQ *", "TST* ", "PAYPAL *", "DD *", "SP *", "IN *", "DOORDASH*"):
        assert prefix in text, prefix
    assert re.search(r"#\d{4}", text)  # store numbers
    assert re.search(r" [A-Z .]+ (TX|CA|NY|FL|WA)\b", text)  # city and state


def test_bank_posting_styles(fi: SynthResult) -> None:
    text = "\n".join(_descriptions(fi))
    for pattern in (
        r"PURCHASE AUTHORIZED ON \d\d/\d\d .* S\d{15} CARD \d{4}",
        r"CHECKCARD \d{4} ",
        r"POS DEBIT ",
        r"DEBIT CARD PURCHASE - ",
        r"RECURRING PAYMENT",
        r"(PURCHASE RETURN AUTHORIZED ON|REFUND |RETURN |REVERSAL |CREDIT VOUCHER )",
    ):
        assert re.search(pattern, text), pattern


def test_ach_layouts(fi: SynthResult) -> None:
    text = "\n".join(_descriptions(fi))
    assert re.search(
        r"ORIG CO NAME:.{1,16} ORIG ID:\d{10} DESC DATE:\d{6} CO ENTRY DESCR:.{1,10}"
        r" SEC:(PPD|WEB|CCD) TRACE#:\d{15} EED:\d{6} IND ID:\d+ IND NAME:[A-Z' .&-]+ TRN: \d{10}TC",
        text,
    )
    assert re.search(r" DES:\S.* ID:\d+ INDN:[A-Z' .&-]+ CO ID:\d{10} (PPD|WEB|CCD)", text)
    for sec in (" PPD", " WEB", " CCD"):
        assert sec in text
    for needle in (
        "CHASE CREDIT CRD AUTOPAY",
        "WELLS FARGO HOME MTG",
        "SCHWAB BROKERAGE",
        "NAVIENT",
        "DES:PAYROLL",
    ):
        assert needle in text, needle


def test_p2p_cash_checks_transfers_and_fees(fi: SynthResult) -> None:
    text = "\n".join(_descriptions(fi))
    for pattern in (
        r"ZELLE (TO|FROM) [A-Z' ]+ ON \d\d/\d\d REF #",
        r"Zelle payment (to|from) ",
        r"VENMO PAYMENT \d{10}",
        r"CASH APP\*[A-Z]+ [A-Z] ",
        r"PAYPAL INST XFER",
        r"(ATM WITHDRAWAL|ATM CASH WITHDRAWAL|NON-BANK ATM WITHDRAW)",
        r"\bCHECK #? ?\d{4}\b",
        r"MOBILE DEPOSIT REF NUMBER",
        r"ONLINE TRANSFER TO SAV XXXX\d{4}",
        r"(MONTHLY SERVICE FEE|MAINTENANCE FEE)",
        r"(OVERDRAFT|NSF)",
        r"INTEREST (PAYMENT|EARNED|PAID)",
        r"(FOREIGN TRANSACTION FEE|INTL TRANSACTION FEE|INTERNATIONAL PURCHASE FEE)",
    ):
        assert re.search(pattern, text), pattern


def test_descriptors_repeat_like_real_statements(fi: SynthResult) -> None:
    """Many raw strings, few merchants: what the enrichment's distinct-descriptor trick needs."""
    tt = truth(fi.out, "transactions_truth")
    merchants = {m for m in tt.column("merchant_name").to_pylist() if m}
    descs = set(_descriptions(fi))
    assert len(descs) > 3 * len(merchants)


def test_foreign_fees_follow_purchases_abroad(fi: SynthResult) -> None:
    tx = read_strings(fi.out / "transactions").to_pylist()
    abroad_codes = r" (GB|FR|MX|ON|BC|IT|ES|IE|JP|CR)( |$)"
    abroad = {
        (r["account_id"], r["posted_at"])
        for r in tx
        if r["channel"] == "card" and re.search(abroad_codes, r["description"])
    }
    fees = [
        r
        for r in tx
        if re.fullmatch(r"(FOREIGN|INTL|INTERNATIONAL) \w+ ?\w* ?FEE", r["description"])
    ]
    assert abroad and fees
    assert all((f["account_id"], f["posted_at"]) in abroad for f in fees)
