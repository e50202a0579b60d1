"""Name matching over the directory's aliases.

- **Exact**: an Aho–Corasick automaton (pyahocorasick) over every alias in *match form*
  (uppercase, letters/digits/``&`` only, single spaces) finds every alias inside a descriptor in
  one pass; a hit counts only on token boundaries.
- **Prefix**: card networks cut merchant names at 22–25 characters, so ``PIRATES COVE MINI G`` is
  looked up as the prefix of an alias (binary search over the sorted aliases).
- **Fuzzy**: misspelt or squeezed names go through rapidfuzz against the aliases that share the
  first two letters (a small block, so the search stays in microseconds), with a scorer that
  also compares against the alias cut to the text's length (truncation-aware).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick
from rapidfuzz import fuzz, process

from sightline.enrich.normalise import descriptor_key

_NON_WORD = re.compile(r"[^A-Z0-9&]+")


def match_form(text: str) -> str:
    """``"McDonald's #123"`` → ``"MCDONALDS 123"``: the form aliases and texts are compared in."""
    return _NON_WORD.sub(" ", text.upper().replace("'", "").replace("’", "")).strip()


@dataclass(frozen=True, slots=True)
class Hit:
    target: str
    alias: str
    start: int
    end: int
    score: float
    how: str
    """``exact``, ``prefix`` or ``fuzzy``."""


class AliasIndex:
    """Aliases (already UPPERCASE) → target ids (merchant or institution ids)."""

    def __init__(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        min_inner_length: int = 8,
        inner_single_tokens: bool = False,
    ) -> None:
        """``min_inner_length``: an alias found after the start of a text must be at least this
        long and, unless ``inner_single_tokens``, have two or more words (so ``EXPRESS`` inside
        ``SPARKLE EXPRESS WASH`` is not a hit)."""
        self.min_inner_length = min_inner_length
        self.inner_single_tokens = inner_single_tokens
        targets: dict[str, list[str]] = defaultdict(list)
        for alias, target in pairs:
            for form in _variants(alias):
                if len(form) >= 2 and target not in targets[form]:
                    targets[form].append(target)
        self.targets: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in targets.items()}
        self.automaton = ahocorasick.Automaton()
        for form in self.targets:
            self.automaton.add_word(form, form)
        if self.targets:
            self.automaton.make_automaton()
        self.sorted_aliases = sorted(self.targets)
        self.blocks: dict[str, list[str]] = defaultdict(list)
        for form in self.targets:
            self.blocks[form[:2]].append(form)

    def __len__(self) -> int:
        return len(self.targets)

    def exact(self, text: str) -> list[Hit]:
        """Every alias found on token boundaries, best first (at the start, longest, earliest)."""
        if not self.targets or not text:
            return []
        found: list[tuple[bool, int, int, str]] = []
        n = len(text)
        for end_index, form in self.automaton.iter(text):
            end = end_index + 1
            start = end - len(form)
            if (start and text[start - 1] != " ") or (end < n and text[end] != " "):
                continue
            if start and (
                len(form) < self.min_inner_length
                or (not self.inner_single_tokens and " " not in form)
            ):
                continue
            found.append((start != 0, -len(form), start, form))
        if not found:
            return []
        found.sort()
        hits: list[Hit] = []
        for _, _, start, form in found:
            end = start + len(form)
            score = 1.0 if (start == 0 and end == n) else (0.97 if start == 0 else 0.92)
            hits.extend(Hit(t, form, start, end, score, "exact") for t in self.targets[form])
        return hits

    def best_exact(self, text: str) -> Hit | None:
        hits = self.exact(text)
        return hits[0] if hits else None

    def prefix(self, text: str, *, min_length: int = 8) -> Hit | None:
        """An alias that starts with ``text`` (a name truncated by the card network)."""
        if len(text) < min_length:
            return None
        i = bisect.bisect_left(self.sorted_aliases, text)
        found: list[str] = []
        while i < len(self.sorted_aliases) and self.sorted_aliases[i].startswith(text):
            found.append(self.sorted_aliases[i])
            i += 1
            if len(found) > 8:
                break
        targets = {t for form in found for t in self.targets[form]}
        if len(targets) != 1:
            return None
        form = min(found, key=len)
        return Hit(next(iter(targets)), form, 0, len(text), 0.9, "prefix")

    def fuzzy(self, text: str, *, cutoff: float = 90.0) -> Hit | None:
        """The closest alias by edit distance (or by its prefix when the text looks truncated).

        Candidates share the text's first two letters; rapidfuzz scores the block in C."""
        if len(text) < 5:
            return None
        block = self.blocks.get(text[:2])
        if not block:
            return None
        n = len(text)
        first = text.split(" ", 1)[0]
        candidates: list[tuple[float, str]] = [
            (score, block[i])
            for _, score, i in process.extract(
                text, block, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5
            )
        ]
        stem = text.rsplit(" ", 1)[0] + " "
        if n >= 10 and " " in text:
            # truncated and misspelt in its last, cut word: all earlier words must agree
            cut = [form for form in block if len(form) > n and form.startswith(stem)]
            for _, score, i in process.extract(
                text, [form[:n] for form in cut], scorer=fuzz.ratio, score_cutoff=cutoff, limit=3
            ):
                candidates.append((0.98 * score, cut[i]))
        best: tuple[float, str] | None = None
        for score, form in candidates:
            if score < cutoff or (best is not None and score <= best[0]):
                continue
            # the distinctive first word must agree too: MARIOS PIZZERIA is not MARKS PIZZERIA
            head = form.split(" ", 1)[0]
            if len(first) >= 4 and fuzz.ratio(first, head[: max(len(first), 4)]) < 85:
                continue
            best = (score, form)
        if best is None:
            return None
        targets = self.targets[best[1]]
        return Hit(targets[0], best[1], 0, n, round(best[0] / 100 * 0.95, 3), "fuzzy")


def _variants(alias: str) -> set[str]:
    # the same noise removal as descriptors: "SSA TREAS 310" is looked up as "SSA TREAS"
    form = match_form(alias)
    if any(c.isdigit() for c in alias):
        form = match_form(descriptor_key(alias)) or form
    out = {form} if form else set()
    if " " in form:
        joined = form.replace(" ", "")
        if len(joined) >= 5:
            out.add(joined)
    if "&" in form:
        out.add(_NON_WORD.sub(" ", form.replace("&", " AND ")).strip())
        out.add(form.replace("&", "").replace("  ", " ").strip())
    if form.endswith(" COM") and len(form) > 6:
        out.add(form[:-4])
    return {v for v in out if v}
