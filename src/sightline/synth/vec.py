"""Vectorised helpers: random draws, deterministic hashes and string building over whole columns.

The generator never loops over rows in Python; it builds numpy arrays and turns them into strings
with pyarrow compute (``take`` from small pre-rendered pools, element-wise joins, padding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
Part: TypeAlias = pa.Array | pa.ChunkedArray | str

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix(*keys: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """A splitmix64 hash of integer keys (arrays broadcast): stable choices without stored state."""
    h = np.zeros(np.broadcast(*[np.asarray(k) for k in keys]).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for key in keys:
            h = h ^ (np.asarray(key).astype(np.uint64) + _GOLDEN + (h << np.uint64(6)))
            h = (h ^ (h >> np.uint64(30))) * _M1
            h = (h ^ (h >> np.uint64(27))) * _M2
            h = h ^ (h >> np.uint64(31))
    return h


def unit(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """Map a hash to a float in [0, 1)."""
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def pick(h: npt.NDArray[np.uint64], n: int | npt.NDArray[np.int64]) -> IntArray:
    """Map a hash to an index in [0, n)."""
    return (unit(h) * np.asarray(n)).astype(np.int64)


def weighted_index(u: npt.NDArray[np.float64], weights: npt.ArrayLike) -> IntArray:
    """Inverse-CDF choice of an index for uniforms ``u`` under ``weights``."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w) / w.sum()
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(w) - 1).astype(np.int64)


def zipf_weights(n: int, s: float = 1.0) -> npt.NDArray[np.float64]:
    return 1.0 / np.power(np.arange(1, n + 1, dtype=np.float64), s)


def pool(values: Sequence[str | None]) -> pa.StringArray:
    return pa.array(values, type=pa.string())


def take(values: pa.Array | Sequence[str | None], idx: npt.ArrayLike) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else pool(values)
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def cat(*parts: Part) -> pa.Array:
    """Element-wise concatenation of string columns and literal strings."""
    arrays = [p for p in parts if not (isinstance(p, str) and p == "")]
    if all(isinstance(p, str) for p in arrays):
        raise ValueError("cat() needs at least one column")
    if len(arrays) == 1:
        only = arrays[0]
        if isinstance(only, str):
            raise ValueError("cat() needs at least one column")
        return only.combine_chunks() if isinstance(only, pa.ChunkedArray) else only
    out = pc.binary_join_element_wise(*arrays, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def digits(values: npt.ArrayLike, width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal strings of ``width`` characters."""
    arr = pa.array(np.asarray(values, dtype=np.int64))
    return pc.utf8_lpad(pc.cast(arr, pa.string()), width=width, padding="0")


def random_digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """``n`` random strings of ``width`` decimal digits (any width, built 15 digits at a time)."""
    parts: list[Part] = []
    left = width
    while left > 0:
        w = min(left, 15)
        parts.append(digits(rng.integers(0, 10**w, size=n, dtype=np.int64), w))
        left -= w
    return cat(*parts)


_ALNUM = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)


def random_alnum(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """``n`` random upper-case alphanumeric strings of ``width`` characters."""
    codes = _ALNUM[rng.integers(0, len(_ALNUM), size=(n, width))]
    raw = np.ascontiguousarray(codes).view(f"S{width}").reshape(n)
    return pc.cast(pa.array(raw, type=pa.binary(width)), pa.string())


def money(cents: npt.ArrayLike) -> pa.Array:
    """Integer cents as plain decimal strings with two places: 123456 → ``"1234.56"``."""
    c = np.asarray(cents, dtype=np.int64)
    neg = c < 0
    a = np.abs(c)
    text = cat(pc.cast(pa.array(a // 100), pa.string()), ".", digits(a % 100, 2))
    if neg.any():
        text = pc.if_else(pa.array(neg), cat("-", text), text)
    return text


def where(mask: npt.NDArray[np.bool_], a: Part, b: Part) -> pa.Array:
    """Choose ``a`` where ``mask`` else ``b``; strings broadcast."""
    left = pa.scalar(a, pa.string()) if isinstance(a, str) else a
    right = pa.scalar(b, pa.string()) if isinstance(b, str) else b
    out = pc.if_else(pa.array(mask), left, right)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def luhn_complete(body: npt.NDArray[np.int64], length: int) -> pa.Array:
    """Luhn-valid card numbers of ``length`` digits starting with the digits of ``body``."""
    n = len(body)
    k = length - 1
    dig = np.zeros((n, k), dtype=np.int64)
    rest = body.copy()
    for i in range(k - 1, -1, -1):
        dig[:, i] = rest % 10
        rest //= 10
    # Doubling starts from the rightmost body digit (the check digit goes after it).
    doubled = dig.copy()
    pos_from_right = np.arange(k)[::-1]
    dmask = pos_from_right % 2 == 0
    doubled[:, dmask] = doubled[:, dmask] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    check = (10 - doubled.sum(axis=1) % 10) % 10
    return cat(digits(body, k), pc.cast(pa.array(check), pa.string()))
