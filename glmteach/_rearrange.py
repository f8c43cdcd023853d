"""Rearrangements of a GLM permutation test: row permutations, sign flips, or both.

A rearrangement gives subject ``j`` the design row of subject ``rows[j]``, multiplied by
``signs[j]``. Refitting the model to the null-model residuals with that design is the same
as moving the residuals between subjects (and flipping their signs) with the design fixed,
the way Winkler et al. (2014) write it; the design-side view makes ties easy to count.

Conventions (those of :mod:`glmteach._flips`, which this module extends):

- Rearrangement 0 is the observed one (``rows = arange(n)``, all signs +1).
- Two rearrangements are the same when they give every subject the same design row and
  sign: subjects with identical design rows (two groups, a paired design) make many row
  permutations identical. ``n_distinct`` counts distinct ones: ``n! / prod(m_k!)`` within
  each exchangeability block (``m_k`` subjects share design row ``k``), e.g.
  ``C(16, 8) = 12,870`` for two groups of 8; ``2 ** (n - 1)`` sign flips two-sided (a
  global sign change only negates t), ``2 ** n`` one-sided; their product for "both".
- If ``n_perm >= n_distinct`` every distinct rearrangement is enumerated (exact test),
  otherwise ``n_perm - 1`` distinct non-observed ones are drawn at random without repeats.
  After rearrangement 0 the order is random, the same seed gives the same ones, and the
  first ``k`` of a larger ``n_perm`` are those of ``n_perm = k``.
- Pure sign flips are exactly :func:`glmteach._flips.sign_flips` (``rows`` is None).
"""

from dataclasses import dataclass
from math import factorial

import numpy as np

from ._flips import _CHUNK, _SHUFFLE_ALL_UP_TO, _codes_to_bits, check_n_perm, sign_flips
from ._jit import jit

ERRORS = ("exchangeable", "symmetric", "both")


@dataclass(frozen=True)
class Rearrangements:
    """The rearrangements of one GLM permutation run.

    Attributes
    ----------
    rows : ndarray of int, shape (n_flips, n_subjects), or None
        Subject whose design row subject ``j`` gets; None when rows are not permuted.
    signs : ndarray of int8, shape (n_flips, n_subjects)
        +1 / -1 per subject (all +1 for row permutations only).
    exact : bool
        True when every distinct rearrangement is present.
    n_distinct : int
    two_sided : bool
    errors : {"exchangeable", "symmetric", "both"}
    """

    rows: np.ndarray
    signs: np.ndarray
    exact: bool
    n_distinct: int
    two_sided: bool
    errors: str

    @property
    def n_flips(self):
        return self.signs.shape[0]


def rearrangements(design, n_perm, errors, blocks=None, two_sided=True, random_state=0):
    """Enumerate or draw the rearrangements of a GLM permutation test.

    Parameters
    ----------
    design : ndarray, shape (n_subjects, n_regressors)
        Identical rows are ties: permuting them changes nothing.
    n_perm : int
        Rearrangements wanted, the observed one included.
    errors : {"exchangeable", "symmetric", "both"}
        Row permutations, sign flips, or both.
    blocks : ndarray of int, shape (n_subjects,), optional
        Block index (0 .. n_blocks - 1) of each subject; rows move only within a block.
    two_sided : bool
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    Rearrangements
    """
    n = design.shape[0]
    n_perm = check_n_perm(n_perm)
    if errors == "symmetric":
        flips = sign_flips(n, n_perm, two_sided=two_sided, random_state=random_state)
        return Rearrangements(None, flips.signs, flips.exact, flips.n_distinct,
                              bool(two_sided), errors)
    layout = _Layout(design, np.zeros(n, np.int64) if blocks is None else blocks)
    n_free = (n - 1 if two_sided else n) if errors == "both" else 0
    n_signs = 2 ** n_free
    n_distinct = layout.n_distinct * n_signs
    exact = n_perm >= n_distinct
    n_flips = n_distinct if exact else n_perm
    rng = np.random.default_rng(random_state)
    if n_distinct <= _SHUFFLE_ALL_UP_TO:
        observed = layout.rank_observed() * n_signs
        codes = rng.permutation(n_distinct - 1)[: n_flips - 1]
        codes += codes >= observed
        codes = np.concatenate([[observed], codes]).astype(np.int64)
        rows = layout.unrank(codes // n_signs)
        bits = _codes_to_bits((codes % n_signs).astype(np.uint64), n_free)
    else:
        rows, bits = _draw_unique(layout, rng, n_flips - 1, n_free)
    signs = np.ones((n_flips, n), dtype=np.int8)
    signs[:, n - n_free:] = 1 - 2 * bits
    return Rearrangements(rows, signs, exact, n_distinct, bool(two_sided), errors)


class _Layout:
    """Subjects by exchangeability block and by design row type (ties share a type)."""

    def __init__(self, design, blocks):
        _, types = np.unique(design, axis=0, return_inverse=True)
        self.types = types.ravel().astype(np.int64)
        self.blocks = np.asarray(blocks, dtype=np.int64)
        n_blocks = int(self.blocks.max()) + 1
        n_types = int(self.types.max()) + 1
        # subjects sorted by (block, type, index): members of a type in a block in order
        self.members = np.lexsort((np.arange(len(self.types)), self.types, self.blocks))
        self.counts = np.zeros((n_blocks, n_types), np.int64)
        np.add.at(self.counts, (self.blocks, self.types), 1)
        self.offsets = np.cumsum(self.counts.ravel()).reshape(self.counts.shape) - self.counts
        self.radix = [_multinomial(row) for row in self.counts]
        self.n_distinct = int(np.prod([int(r) for r in self.radix], dtype=object))

    def rank_observed(self):
        """Rank of the observed type sequence (the inverse of :meth:`unrank`)."""
        rank, scale = 0, 1
        for b, radix in enumerate(self.radix):
            sequence = self.types[self.blocks == b]
            rank += _rank_multiset(sequence, self.counts[b].copy()) * scale
            scale *= radix
        return rank

    def unrank(self, ranks):
        rows = np.empty((len(ranks), len(self.types)), dtype=_index_dtype(len(self.types)))
        positions = np.argsort(self.blocks, kind="stable")
        starts = np.concatenate([[0], np.cumsum(self.counts.sum(axis=1))])
        _unrank_rows(ranks, positions, starts, self.counts, self.offsets, self.members,
                     np.array(self.radix, dtype=np.int64), rows)
        return rows


def _multinomial(counts):
    out = factorial(int(counts.sum()))
    for c in counts:
        out //= factorial(int(c))
    return out


def _rank_multiset(sequence, counts):
    rank, remaining = 0, len(sequence)
    total = _multinomial(counts)
    for t in sequence:
        for smaller in range(t):
            rank += total * int(counts[smaller]) // remaining
        total = total * int(counts[t]) // remaining
        counts[t] -= 1
        remaining -= 1
    return rank


@jit
def _unrank_rows(ranks, positions, starts, counts, offsets, members, radix, rows):
    """Row assignment of each rank: mixed radix over blocks, multiset unranking within."""
    n_types = counts.shape[1]
    left = np.empty(n_types, np.int64)
    used = np.empty(n_types, np.int64)
    for f in range(ranks.shape[0]):
        r = ranks[f]
        for b in range(counts.shape[0]):
            rb = r % radix[b]
            r //= radix[b]
            left[:] = counts[b]
            used[:] = 0
            remaining = starts[b + 1] - starts[b]
            total = radix[b]
            for p in range(starts[b], starts[b + 1]):
                for t in range(n_types):
                    if left[t] == 0:
                        continue
                    sub = total * left[t] // remaining
                    if rb < sub:
                        rows[f, positions[p]] = members[offsets[b, t] + used[t]]
                        used[t] += 1
                        left[t] -= 1
                        total = sub
                        remaining -= 1
                        break
                    rb -= sub


def _draw_unique(layout, rng, n_rows, n_free):
    """Random within-block permutations (and sign bits), distinct, in fixed-size chunks
    so that the first k do not depend on n_rows; row 0 is the observed one."""
    n = len(layout.types)
    seen = {layout.types.tobytes() + bytes(n_free)}
    rows = [np.arange(n)[None]]
    bits = [np.zeros((1, n_free), np.int8)]
    wanted = n_rows + 1
    by_block = np.argsort(layout.blocks, kind="stable")
    while wanted > 1:
        keys = rng.random((_CHUNK, n)) + layout.blocks  # shuffles within blocks only
        perms = np.empty((_CHUNK, n), np.int64)
        perms[:, by_block] = np.argsort(keys, axis=1, kind="stable")
        draws = rng.integers(0, 2, size=(_CHUNK, n_free), dtype=np.int8)
        # key of draw i: its type sequence (int64 bytes) then its sign bits, one bytes slice
        blob = np.concatenate([layout.types[perms].view(np.uint8), draws.view(np.uint8)],
                              axis=1).tobytes()
        size = len(blob) // _CHUNK
        take = []
        for i in range(_CHUNK):
            key = blob[i * size : (i + 1) * size]
            if key not in seen:
                seen.add(key)
                take.append(i)
                if len(take) == wanted - 1:
                    break
        wanted -= len(take)
        rows.append(perms[take])
        bits.append(draws[take])
    return np.concatenate(rows).astype(_index_dtype(n)), np.concatenate(bits)


def _index_dtype(n):
    return np.int16 if n < 2**15 else np.int32
