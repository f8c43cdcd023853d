"""The shared sign-flip labellings: exact enumeration, no repeats, prefixes, seeds."""

import itertools

import numpy as np
import pytest

from glmteach._flips import MAX_N_PERM, n_distinct_flips, sign_flips


def _rows(signs):
    return [tuple(r) for r in signs]


@pytest.mark.parametrize("n, two_sided", [(5, True), (6, False), (16, True)])
def test_exact_enumeration_is_every_distinct_labelling(n, two_sided):
    flips = sign_flips(n, 10 ** 6, two_sided=two_sided, random_state=1)
    assert flips.exact and flips.n_flips == n_distinct_flips(n, two_sided)
    assert _rows(flips.signs[:1]) == [(1,) * n]
    if n <= 6:
        every = set(itertools.product([1, -1], repeat=n))
        if two_sided:  # a labelling and its negation give the same max |t|
            every = {s for s in every if s[0] == 1}
        assert set(_rows(flips.signs)) == every
    assert len(set(_rows(flips.signs))) == flips.n_flips


@pytest.mark.parametrize("n", [12, 30, 80])
def test_random_draws_have_no_repeats_and_keep_subject0_two_sided(n):
    flips = sign_flips(n, 1000, random_state=2)
    assert not flips.exact and flips.signs.shape == (1000, n)
    assert len(set(_rows(flips.signs))) == 1000
    assert (flips.signs[:, 0] == 1).all() and (flips.signs[0] == 1).all()
    # the other subjects are flipped about half of the time
    assert 0.45 < (flips.signs[1:, 1:] == -1).mean() < 0.55


@pytest.mark.parametrize("n, small, large", [(16, 100, 10000), (16, 10000, 10 ** 6), (30, 50, 5000)])
def test_smaller_n_perm_is_a_prefix_of_larger(n, small, large):
    a = sign_flips(n, small, random_state=3).signs
    b = sign_flips(n, large, random_state=3).signs
    np.testing.assert_array_equal(a, b[: len(a)])


def test_same_seed_same_flips_other_seed_other_flips():
    np.testing.assert_array_equal(sign_flips(16, 500, random_state=4).signs,
                                  sign_flips(16, 500, random_state=4).signs)
    assert not np.array_equal(sign_flips(16, 500, random_state=4).signs,
                              sign_flips(16, 500, random_state=5).signs)


@pytest.mark.parametrize("n_perm, message", [(0, "at least 1"), (-5, "at least 1"),
                                             (MAX_N_PERM + 1, "limit"), (2.5, "whole number")])
def test_bad_n_perm(n_perm, message):
    with pytest.raises(ValueError, match=message):
        sign_flips(16, n_perm)


def test_too_few_subjects():
    with pytest.raises(ValueError, match="at least 2 subjects"):
        sign_flips(1, 100)
