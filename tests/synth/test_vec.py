"""The column helpers the generator builds strings with."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sightline.synth.vec import (
    cat,
    digits,
    luhn_complete,
    mix,
    money,
    random_alnum,
    random_digits,
    weighted_index,
)


def test_money_prints_two_places() -> None:
    assert money(np.array([0, 5, 123456, -250])).to_pylist() == ["0.00", "0.05", "1234.56", "-2.50"]


def test_digits_and_cat() -> None:
    assert cat("T", digits(np.array([7, 12345]), 5)).to_pylist() == ["T00007", "T12345"]
    assert cat(pa.array(["a", "b"]), "-", pa.array(["x", "y"])).to_pylist() == ["a-x", "b-y"]


def test_random_strings_have_the_asked_shape() -> None:
    rng = np.random.default_rng(1)
    ds = random_digits(rng, 50, 23).to_pylist()
    assert all(len(d) == 23 and d.isdigit() for d in ds)
    al = random_alnum(rng, 50, 9).to_pylist()
    assert all(len(a) == 9 and a.isalnum() and a.upper() == a for a in al)
    assert len(set(al)) == 50


def test_card_numbers_pass_the_luhn_check() -> None:
    body = np.random.default_rng(2).integers(10**14, 10**15, 200)
    for number in luhn_complete(body, 16).to_pylist():
        total = 0
        for i, ch in enumerate(reversed(number)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        assert len(number) == 16 and total % 10 == 0


def test_hash_is_stable_and_weighted_choice_follows_weights() -> None:
    a = mix(np.arange(5), 3)
    assert (a == mix(np.arange(5), 3)).all()
    assert len(set(a.tolist())) == 5
    idx = weighted_index(np.random.default_rng(3).random(20000), (0.7, 0.2, 0.1))
    share = np.bincount(idx) / len(idx)
    assert abs(share[0] - 0.7) < 0.02 and abs(share[2] - 0.1) < 0.02
