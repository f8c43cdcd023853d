"""The lesson stepper: Back / Next through the panels, one explanation and one question each.

The steps are data (:data:`STEPS`, a list of dicts) so notebooks can reuse the texts and
questions. A question is either multiple choice (``choices``, the index of the ``answer``
and a ``why`` per wrong choice) or a number read from the learner's own results
(``answer_from``: a key of :data:`ANSWERS`, with a relative ``tolerance``).
"""

import html
from typing import NamedTuple

import ipywidgets as widgets

from .panels import ComparisonPanel, FetchPanel, MaskPanel, TTestPanel
from .state import LessonState
from ._helpers import message_html

STEPS = [
    {
        "panel": "fetch",
        "title": "1. Sixteen subjects, one contrast",
        "explanation": (
            "Each subject's first-level map of <i>left vs right button press</i>, shown as "
            "a glass brain (maximum-intensity projection from above) thresholded at "
            "|t| &gt; 2. Pressing with the left hand activates the right motor cortex (red) "
            "and the other way round (blue). Single subjects are noisy: the group test will "
            "ask which effects are consistent across subjects."),
        "question": "Roughly how many voxels of a pure-noise map pass |t| > 2?",
        "choices": ["none", "about 5%", "about half"],
        "answer": 1,
        "why": {0: "Noise does pass a threshold: P(|T| > 2) is about 5% for each voxel.",
                2: "That would be |t| > 0.67; |t| > 2 is passed by about 5% of noise voxels."},
    },
    {
        "panel": "mask",
        "title": "2. Which voxels, how smooth",
        "explanation": (
            "The group mask keeps the voxels inside the brain in every subject: each one is "
            "a separate test. Smoothing (a Gaussian of the FWHM you choose) averages "
            "neighbours, which raises the signal-to-noise ratio of broad effects and makes "
            "neighbouring tests strongly dependent."),
        "question": "How many tests (voxels in the mask) will the t-test make?",
        "answer_from": "n_voxels",
        "tolerance": 0.01,
    },
    {
        "panel": "ttest",
        "title": "3. The one-sample t-test",
        "explanation": (
            "For each voxel, t = mean / (SD / sqrt(n)) over subjects, with n - 1 degrees of "
            "freedom. Move the uncorrected p threshold: the count of voxels changes, and so "
            "does the number expected by chance (p x number of voxels). The dotted curve is "
            "what t would look like with no effect anywhere."),
        "question": "At p < 0.001, how many false positives do you expect among all voxels "
                    "if there were no effect at all?",
        "answer_from": "expected_false_positives",
        "tolerance": 0.05,
    },
    {
        "panel": "comparison",
        "title": "4. Family-wise error: Bonferroni, random fields, permutations",
        "explanation": (
            "To make the chance of <i>any</i> false positive below alpha, the threshold must "
            "be exceeded by the <b>maximum</b> |t| of a null map with probability alpha. "
            "Bonferroni assumes independent voxels, random field theory models their "
            "smoothness, and sign-flip permutations build the max-|t| null from the data "
            "themselves (16 subjects give 2^15 = 32,768 distinct flips)."),
        "question": "Which threshold is the lowest (finds the most voxels) here?",
        "choices": ["Bonferroni", "Random field theory", "Permutation max-t"],
        "answer": 2,
        "why": {0: "Bonferroni counts every voxel as an independent test; on smooth data "
                   "that is far more tests than there really are, so its threshold is high.",
                1: "Random field theory models the smoothness, but with df = 15 it is known "
                   "to be conservative: compare its line with the permutation one."},
    },
]

#: Numbers a question can ask for, computed from the learner's own state.
ANSWERS = {
    "n_voxels": lambda state: state.masked.n_voxels,
    "expected_false_positives": lambda state: 0.001 * state.masked.n_voxels,
}

PANELS = {"fetch": FetchPanel, "mask": MaskPanel, "ttest": TTestPanel,
          "comparison": ComparisonPanel}


class Verdict(NamedTuple):
    """``(ok, message)``; shown in a notebook as the message in a coloured box."""

    ok: bool
    message: str

    def __repr__(self):
        return ("RIGHT: " if self.ok else "NOT YET: ") + self.message

    def _repr_html_(self):
        return message_html(self.message, "info" if self.ok else "warning")


def check_answer(step, answer, state=None):
    """Whether ``answer`` is right for ``step``: a :class:`Verdict` ``(ok, message)``.

    ``step`` is one of :data:`STEPS` (or a dict like them); numeric questions read the
    expected value from ``state`` (the learner's own results).
    """
    ok, message = _check(step, answer, state)
    return Verdict(ok, message)


def _check(step, answer, state):
    if "choices" in step:
        if answer is None:
            return False, "Pick an answer first."
        index = step["choices"].index(answer) if isinstance(answer, str) else int(answer)
        if index == step["answer"]:
            return True, "Right."
        return False, "Not quite: " + step["why"].get(index, "look at the panel again.")
    if state is None or state.masked is None:
        return False, "Run the step first (fetch the maps), then answer from your results."
    expected = float(ANSWERS[step["answer_from"]](state))
    try:
        value = float(str(answer).replace(",", "").strip())
    except ValueError:
        return False, "Type a number (digits, e.g. 1234)."
    if abs(value - expected) <= step.get("tolerance", 0.01) * max(abs(expected), 1.0):
        return True, f"Right: {expected:,.4g}."
    direction = "high" if value > expected else "low"
    return False, f"Not quite: {value:,.4g} is too {direction}; look again at the panel's text."


class Lesson:
    """Back / Next through the lesson's panels, sharing one :class:`LessonState`."""

    def __init__(self, state=None, steps=None, background=True):
        self.state = LessonState() if state is None else state
        self.steps = STEPS if steps is None else steps
        self.panels = [PANELS[step["panel"]](self.state, background) for step in self.steps]
        self.back = widgets.Button(description="Back", icon="arrow-left")
        self.next = widgets.Button(description="Next", icon="arrow-right")
        self.position = widgets.HTML()
        self.explanation, self.question, self.feedback = (widgets.HTML() for _ in range(3))
        self.choice = widgets.RadioButtons(layout=widgets.Layout(width="auto"))
        self.number = widgets.Text(placeholder="your answer")
        self.check = widgets.Button(description="Check")
        self.body = widgets.Box()
        self.back.on_click(lambda _: self.go(self.index - 1))
        self.next.on_click(lambda _: self.go(self.index + 1))
        self.check.on_click(lambda _: self.answer())
        self.answer_box = widgets.HBox()
        self.widget = widgets.VBox([
            widgets.HBox([self.back, self.next, self.position]), self.explanation, self.body,
            self.question, self.answer_box, self.feedback])
        self.index = 0
        self.go(0)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def go(self, index):
        """Show step ``index`` (clipped to the lesson)."""
        self.index = max(0, min(index, len(self.steps) - 1))
        step = self.steps[self.index]
        self.back.disabled, self.next.disabled = (self.index == 0,
                                                  self.index == len(self.steps) - 1)
        self.position.value = f"<b>{html.escape(step['title'])}</b> ({self.index + 1}/" \
                              f"{len(self.steps)})"
        self.explanation.value = f"<p>{step['explanation']}</p>"
        panel = self.panels[self.index]
        self.body.children = [panel.widget]
        if (step["panel"] == "comparison" and self.state.ttest is not None
                and self.state.permutation is None and not self.state.busy):
            panel.start("permute")  # the null is needed on arrival: start it (progress bar)
        self.question.value = f"<b>Check yourself:</b> {html.escape(step['question'])}"
        self.feedback.value = ""
        if "choices" in step:
            self.choice.options, self.choice.value = step["choices"], None
            self.answer_box.children = [self.choice, self.check]
        else:
            self.number.value = ""
            self.answer_box.children = [self.number, self.check]

    def answer(self, value=None):
        """Check the learner's answer (the widget's value by default); show the verdict."""
        step = self.steps[self.index]
        if value is None:
            value = self.choice.value if "choices" in step else self.number.value
        ok, text = check_answer(step, value, self.state)
        self.feedback.value = message_html(text, "info" if ok else "warning")
        return ok
