"""Sign-flip labellings shared by every permutation procedure (max-t, clusters, TFCE, explainer).

A labelling is one sign per subject (+1 keeps the subject's map, -1 negates it). Under the
null hypothesis of a one-sample test (maps symmetric around zero) every labelling is
equally likely, which is what makes the sign-flip null exact.

Conventions (the ones ``PermutationResult`` documents):

- Flip 0 is always the observed labelling (all +1).
- Two-sided tests use max |t|, which is unchanged when *every* sign is negated; so only the
  labellings that keep subject 0 positive are distinct: ``2 ** (n - 1)`` of them.
  One-sided tests have ``2 ** n``.
- If ``n_perm >= n_distinct`` all distinct labellings are enumerated (an exact test);
  otherwise ``n_perm - 1`` distinct non-observed labellings are drawn at random without
  repeats. ``n_perm`` counts the observed labelling.
- After flip 0 the order is random in both cases, so that any prefix of the flips is a
  random sample without repeats: the n_perm slider takes prefixes of one big null.
- The same ``random_state`` gives the same flips, in the same order, everywhere; and the
  flips asked for with a smaller ``n_perm`` are the first ones of any larger ``n_perm``
  (exact enumeration included), so a null computed once serves every smaller request.
"""

from dataclasses import dataclass

import numpy as np

MAX_N_PERM = 1_000_000  # 10**6 flips: more gives no visible gain and costs memory
_SHUFFLE_ALL_UP_TO = 2 ** 20  # up to here, shuffle every labelling (<= 21 subjects two-sided)
_CHUNK = 4096


@dataclass(frozen=True)
class SignFlips:
    """The labellings of one permutation run.

    Attributes
    ----------
    signs : ndarray of int8, shape (n_flips, n_subjects)
        +1 / -1 per subject; row 0 is the observed labelling (all +1).
    exact : bool
        True when every distinct labelling is present (complete enumeration).
    n_distinct : int
        How many distinct labellings exist (``2 ** (n - 1)`` two-sided, ``2 ** n`` one-sided).
    two_sided : bool
    """

    signs: np.ndarray
    exact: bool
    n_distinct: int
    two_sided: bool

    @property
    def n_flips(self):
        return self.signs.shape[0]


def n_distinct_flips(n_subjects, two_sided=True):
    """Number of distinct sign-flip labellings for ``n_subjects`` (a Python int)."""
    return 2 ** (n_subjects - 1) if two_sided else 2 ** n_subjects


def check_n_perm(n_perm):
    """Return ``n_perm`` as an int or raise a one-line ValueError naming the fix."""
    if isinstance(n_perm, bool) or not isinstance(n_perm, (int, np.integer)):
        raise ValueError(f"n_perm must be a whole number, got {n_perm!r}; try n_perm=10000.")
    if n_perm < 1:
        raise ValueError(f"n_perm must be at least 1, got {n_perm}; try n_perm=10000.")
    if n_perm > MAX_N_PERM:
        raise ValueError(
            f"n_perm={n_perm} is more than the limit of {MAX_N_PERM:,} flips; "
            "10,000 already gives a p near 0.05 to +/-0.002 (one standard error)."
        )
    return int(n_perm)


def sign_flips(n_subjects, n_perm, two_sided=True, random_state=0):
    """Draw (or enumerate) the sign-flip labellings of a permutation test.

    Parameters
    ----------
    n_subjects : int
        Number of subjects (>= 2).
    n_perm : int
        Number of labellings wanted, the observed one included (1 .. MAX_N_PERM).
    two_sided : bool
        Whether the statistic is max |t| (labellings equal up to a global sign count once).
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    SignFlips
    """
    if n_subjects < 2:
        raise ValueError(
            f"a sign-flip test needs at least 2 subjects, got {n_subjects}; load more maps."
        )
    n_perm = check_n_perm(n_perm)
    rng = np.random.default_rng(random_state)
    n_free = n_subjects - 1 if two_sided else n_subjects  # subjects whose sign may change
    n_distinct = n_distinct_flips(n_subjects, two_sided)
    exact = n_perm >= n_distinct
    n_flips = n_distinct if exact else n_perm
    if n_distinct <= _SHUFFLE_ALL_UP_TO:
        codes = 1 + rng.permutation(n_distinct - 1)[: n_flips - 1]
        bits = _codes_to_bits(np.concatenate([[0], codes]).astype(np.uint64), n_free)
    else:
        bits = _draw_unique_bits(rng, n_flips - 1, n_free)
    signs = np.ones((bits.shape[0], n_subjects), dtype=np.int8)
    signs[:, n_subjects - n_free:] = 1 - 2 * bits
    return SignFlips(signs=signs, exact=exact, n_distinct=n_distinct, two_sided=two_sided)


def _codes_to_bits(codes, n_bits):
    shifts = np.arange(n_bits, dtype=np.uint64)
    return ((codes[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.int8)


def _draw_unique_bits(rng, n_rows, n_bits):
    """Rows of random bits in draw order, none all-zero (observed), none repeated.

    Drawn in fixed-size chunks so that the first k rows do not depend on n_rows.
    """
    seen = {bytes(n_bits)}
    rows = [np.zeros(n_bits, dtype=np.int8)]
    while len(rows) < n_rows + 1:
        for row in rng.integers(0, 2, size=(_CHUNK, n_bits), dtype=np.int8):
            key = row.tobytes()
            if key not in seen and len(rows) < n_rows + 1:
                seen.add(key)
                rows.append(row)
    return np.stack(rows)
