"""Self-checks accept what a learner types and never raise."""

from types import SimpleNamespace

import numpy as np
import pytest

from glmteach import narrative
from glmteach.widgets import STEPS, check_answer
from glmteach.widgets.lesson import parse_number

Q00 = {"question": "Chance of at least one false positive among 100 null tests at 0.05?",
       "choices": ["about 5%", "about 50%", "about 99%"], "values": [5, 50, 99], "answer": 2,
       "why": {0: "5% is the risk of ONE test.", 1: "Compute 1 - 0.95 ** 100."}}

ODD = [None, "", "   ", "abc", "99%%", "1.7", 1.7, True, False, -3, 10**9, float("nan"),
       float("inf"), [1], {"a": 1}, b"99", "1e400", "0/0", "5/0", "--1", "\t\n", "%", 2.5,
       np.float32(0.5), np.int64(1), "six thousand", "68,22,3", object()]


def _fake_state(n_voxels=68223, thresholds=(8.11, 8.27, 7.61), alpha=0.05):
    results = {n: narrative.Outcome(n, t, 10) for n, t in
               zip(("bonferroni", "rft", "permutation"), thresholds)}
    return SimpleNamespace(masked=SimpleNamespace(n_voxels=n_voxels), ttest=object(),
                           permutation=object(), alpha=alpha,
                           comparison=lambda methods=None, **kw: dict(results))


ALL_STEPS = STEPS + [Q00]


@pytest.mark.parametrize("answer", ODD + ["99%", "about 99%", "about 5%", 0.99, "68,223"])
@pytest.mark.parametrize("index", range(len(ALL_STEPS)))
def test_every_step_gives_a_verdict_never_an_exception(index, answer):
    for state in (None, _fake_state()):
        verdict = check_answer(ALL_STEPS[index], answer, state)
        assert isinstance(verdict.ok, bool) and verdict.message
        assert "\n" not in verdict.message and "Traceback" not in verdict.message
        assert "e+0" not in verdict.message  # counts print with separators


@pytest.mark.parametrize("answer", ["about 99%", "About  99 %", "ABOUT 99%", "99%", "99 %",
                                    "99", 99, 0.99, 0.994, "0.994", "99.4%", "0,99",
                                    "99/100", "99 percent", " about 99% ", 2, "~99%"])
def test_percent_question_accepts_every_form(answer):
    assert check_answer(Q00, answer).ok


@pytest.mark.parametrize("answer", [1.7, "1.7", 0.5, "50%", "about 5%", 0, "75%", "abc"])
def test_percent_question_rejects_wrong_values_with_a_hint(answer):
    verdict = check_answer(Q00, answer)
    assert not verdict.ok and verdict.message


@pytest.mark.parametrize("answer", ["about 5%", "About 5 %", "5%", "5", 0.05, "0.046",
                                    "6.4%", 6.4, "4.6 %", 1, "ABOUT 5%"])
def test_step1_noise_share(answer):
    assert check_answer(STEPS[0], answer).ok


def test_step1_wrong_choices_explain():
    assert "4.6%" in check_answer(STEPS[0], "none").message
    assert not check_answer(STEPS[0], "About Half").ok
    assert not check_answer(STEPS[0], "50%").ok


@pytest.mark.parametrize("answer", ["68223", "68,223", "68 223", "68_223", 68223, 68223.0,
                                    "6.8223e4", "about 68,223", "68223 voxels", "68,500",
                                    np.int64(68223)])
def test_count_question_accepts_separators(answer):
    verdict = check_answer(STEPS[1], answer, _fake_state())
    assert verdict.ok and "68,223" in verdict.message


def test_count_question_wrong_and_unreadable():
    state = _fake_state()
    verdict = check_answer(STEPS[1], "12", state)
    assert not verdict.ok and "too low" in verdict.message
    verdict = check_answer(STEPS[1], "70,000", state)
    assert not verdict.ok and "70,000" in verdict.message
    assert "number" in check_answer(STEPS[1], "many", state).message
    assert not check_answer(STEPS[1], "68,223", None).ok  # no results yet: a hint


def test_expected_false_positives():
    state = _fake_state()
    assert check_answer(STEPS[2], "68", state).ok and check_answer(STEPS[2], 68.2, state).ok
    assert not check_answer(STEPS[2], "6.8", state).ok


@pytest.mark.parametrize("thresholds,right", [((8.11, 8.27, 7.61), 2), ((8.11, 8.27, np.inf), 0),
                                              ((8.5, 8.27, 8.4), 1)])
def test_step4_answer_is_computed(thresholds, right):
    state = _fake_state(thresholds=thresholds)
    choices = STEPS[3]["choices"]
    for i, choice in enumerate(choices):
        assert check_answer(STEPS[3], choice.lower(), state).ok == (i == right)
    state.permutation = None
    assert "Run the permutations" in check_answer(STEPS[3], choices[2], state).message


def test_parse_number():
    assert parse_number("68,223") == (68223.0, False)
    assert parse_number("99 %") == (99.0, True)
    assert parse_number("0,5") == (0.5, False)
    assert parse_number("3/4") == (0.75, False)
    assert parse_number("nothing") is None and parse_number(True) is None


def test_enter_submits(tmp_path):
    from glmteach.widgets import Lesson, LessonState

    lesson = Lesson(LessonState(source="embedded", n_subjects=4), background=False)
    lesson.go(1)
    assert lesson.number.continuous_update is False  # the value arrives on Enter
    lesson.number.value = "12"  # what Enter does: set the value
    assert lesson.feedback.value  # a verdict is shown without pressing Check
