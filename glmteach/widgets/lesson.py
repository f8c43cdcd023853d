"""The lesson stepper: Back / Next through the panels, one explanation and one question each.

The steps are data (:data:`STEPS`, a list of dicts) so notebooks can reuse the texts and
questions. A question is either multiple choice (``choices``, the index of the ``answer``
and a ``why`` per wrong choice, or ``answer_from``: a key of :data:`CHOICE_ANSWERS` that
computes the right choices from the learner's results; optional ``values`` give each
choice as a percentage for answers typed as numbers) or a number read from the learner's
own results (``answer_from``: a key of :data:`ANSWERS`, with a relative ``tolerance``).
"""

import html
import re
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from .panels import ComparisonPanel, FetchPanel, MaskPanel, TTestPanel
from .state import LessonState
from ._a11y import page_helper
from ._helpers import message_html

STEPS = [
    {
        "panel": "fetch",
        "title": "1. Sixteen subjects, one contrast",
        "explanation": (
            "Each subject's first-level map of <i>left vs right button press</i>, shown as "
            "a glass brain thresholded at |t| &gt; 2. A glass brain is a maximum-intensity "
            "projection: each pixel shows the most extreme voxel along its line of sight, "
            "so a few scattered noise voxels cover a large part of the picture. Pressing "
            "with the left hand activates the right motor cortex (red) and the other way "
            "round (blue). Single subjects are noisy: the group test will ask which effects "
            "are consistent across subjects."),
        "question": "In a pure-noise t-map (no effect anywhere), roughly what share of the "
                    "VOXELS (not of the projected picture) pass |t| > 2?",
        "choices": ["none", "about 5%", "about half"],
        "values": [0.0, 5.0, 50.0],  # percent, for answers typed as numbers
        "answer": 1,
        "why": {0: "Noise does pass a threshold: P(|T| > 2) is 4.6% for a voxel of a "
                   "pure-noise map with many degrees of freedom (6.4% with df = 15).",
                2: "That would be |t| > 0.67. In the projection noise covers much of the "
                   "picture, but each pixel is the most extreme of a whole line of voxels; "
                   "only about 5% of the voxels pass |t| > 2 (6.4% with df = 15)."},
    },
    {
        "panel": "mask",
        "title": "2. Which voxels, how smooth",
        "explanation": (
            "The group mask keeps the voxels inside the brain in every subject: each one is "
            "a separate test. It is computed from the unsmoothed maps, so the smoothing "
            "slider does not change the number of tests. Smoothing (a Gaussian of the FWHM "
            "you choose) averages neighbours, which raises the signal-to-noise ratio of "
            "broad effects and makes neighbouring tests strongly dependent."),
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
        "layout": "wide",
        "title": "4. Family-wise error: Bonferroni, random fields, permutations",
        "explanation": (
            "To make the chance of <i>any</i> false positive below alpha, the threshold must "
            "be exceeded by the <b>maximum</b> |t| of a null map with probability alpha. "
            "Bonferroni needs no assumption (alpha / number of voxels is a bound, "
            "conservative when neighbouring voxels are dependent); random field theory "
            "models the smoothness of a Gaussian-like field; sign-flip permutations build "
            "the max-|t| null from the data themselves (n subjects give 2^(n-1) distinct "
            "flips: 32,768 for 16). All three control the family-wise error in the strong "
            "sense, so each voxel they keep can be claimed on its own."),
        "question": "Which threshold is the lowest (finds the most voxels) here?",
        "choices": ["Bonferroni", "Random field theory", "Permutation max-t"],
        "answer_from": "lowest_threshold",
    },
]

#: Numbers a question can ask for, computed from the learner's own state.
ANSWERS = {
    "n_voxels": lambda state: state.masked.n_voxels,
    "expected_false_positives": lambda state: 0.001 * state.masked.n_voxels,
}

_CHOICE_METHODS = ("bonferroni", "rft", "permutation")  # step 4's choices, in order


def _lowest_threshold(state):
    """(indices of step 4's right choices, one-line explanation) from the state's results."""
    from .. import narrative

    if state.permutation is None:
        return None, "Run the permutations first, then compare the three thresholds."
    results = state.comparison(methods=list(_CHOICE_METHODS))
    lowest = narrative.lowest_thresholds(results, _CHOICE_METHODS)
    listed = ", ".join(f"{narrative.LABELS[n]} {narrative.threshold_text(r.threshold)}"
                       for n, r in results.items())
    text = f"at alpha = {state.alpha:g} the |t| thresholds are {listed}"
    return {_CHOICE_METHODS.index(n) for n in lowest}, text


#: Choice questions whose right answer depends on the learner's results.
CHOICE_ANSWERS = {"lowest_threshold": _lowest_threshold}

_FILLERS = re.compile(r"\b(about|approximately|approx|around|roughly|nearly|circa|ca|"
                      r"voxels?|tests?|false positives?)\b|[~\u2248]")

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
    expected value from ``state`` (the learner's own results). Never raises: anything it
    cannot read gets a one-line hint.

    Accepted forms: a choice's text in any case and spacing, with or without "about";
    its index (an ``int``); for choices with ``values`` (percentages) a number as a
    percent ("99%", "99 %", "99", "about 99%") or a fraction (0.99, "99/100"), within
    ``tolerance_points`` (default 2) percentage points. Numeric questions take digits
    with or without thousands separators ("68,223", "68 223", "68_223", "6.8e4"),
    within the step's relative ``tolerance``.
    """
    try:
        ok, message = _check(step, answer, state)
    except Exception as exc:  # a self-check never ends in a traceback
        ok, message = False, (f"Could not check this answer ({type(exc).__name__}); "
                              "type one of the choices or a number.")
    return Verdict(ok, message)


def _check(step, answer, state):
    if answer is None:
        return False, "Give an answer first (replace None)."
    if isinstance(answer, str) and not answer.strip():
        return False, "Type an answer first."
    if "choices" in step:
        return _check_choice(step, answer, state)
    if state is None or getattr(state, "masked", None) is None:
        return False, "Run the step first (fetch the maps), then answer from your results."
    expected = float(ANSWERS[step["answer_from"]](state))
    value = parse_number(answer)
    if value is None:
        return False, "Type a number, e.g. 1234 or 1,234."
    value = value[0]
    tolerance = step.get("tolerance", 0.01)
    if abs(value - expected) <= tolerance * max(abs(expected), 1.0):
        return True, f"Right: {_number_text(expected)} (within {tolerance:.0%})."
    direction = "high" if value > expected else "low"
    return False, (f"Not quite: {_number_text(value)} is too {direction}; look again at the "
                   "panel's text.")


def _check_choice(step, answer, state):
    choices = step["choices"]
    right, why_all = _right_choices(step, state)
    if right is None:
        return False, why_all
    index = _choice_index(step, answer)
    if index is None:
        listed = ", ".join(f"'{c}'" for c in choices)
        more = (f" (or a percentage, within {step.get('tolerance_points', 2):g} points)"
                if "values" in step else "")
        return False, f"Type one of {listed}{more}."
    if index in right:
        return True, "Right." + (f" Here {why_all}." if why_all else "")
    if why_all:
        names = " or ".join(choices[i] for i in sorted(right))
        return False, f"Not quite: {why_all}; the lowest is {names}."
    return False, "Not quite: " + step.get("why", {}).get(index, "look at the panel again.")


def _right_choices(step, state):
    """(set of right indices, explanation or '') of a choice step."""
    if "answer_from" not in step:
        return {step["answer"]}, ""
    if state is None or getattr(state, "ttest", None) is None:
        return None, "Run the step first (fetch the maps), then answer from your results."
    return CHOICE_ANSWERS[step["answer_from"]](state)


def _choice_index(step, answer):
    """Index of the choice ``answer`` designates, or None."""
    choices = step["choices"]
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, np.integer)) and 0 <= answer < len(choices):
        return int(answer)
    text = _normalise(str(answer))
    bare = _normalise(_FILLERS.sub(" ", text))
    for i, choice in enumerate(choices):
        if text == _normalise(choice) or (
                bare and bare == _normalise(_FILLERS.sub(" ", choice.lower()))):
            return i
    if "values" not in step:
        return None
    parsed = parse_number(answer)
    if parsed is None:
        return None
    value, percent = parsed
    if not percent and abs(value) <= 1:
        value *= 100.0  # a fraction
    values = np.asarray(step["values"], dtype=float)
    nearest = int(np.argmin(np.abs(values - value)))
    if abs(values[nearest] - value) <= step.get("tolerance_points", 2.0):
        return nearest
    return None


def _normalise(text):
    text = text.strip().strip("'\".!").lower()
    text = re.sub(r"\s*%", "%", text)
    return " ".join(text.split())


_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$")


def parse_number(answer):
    """``(value, was_percent)`` from what a learner typed, or None.

    Reads ints and floats, "68,223", "68 223", "68_223", "0,99" (decimal comma), "99%",
    "99 %", "about 99%", "99/100", "6.8e4"; "about"/"voxels" and similar words are ignored.
    """
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, float, np.integer, np.floating)):
        value = float(answer)
        return (value, False) if np.isfinite(value) else None
    if not isinstance(answer, str):
        return None
    text = _FILLERS.sub(" ", answer.strip().lower()).strip()
    percent = text.endswith("%") or text.endswith("percent")
    text = text.replace("percent", "").strip().rstrip("%").strip().strip(".")
    text = re.sub(r"(?<=\d)[\s_\u00a0\u202f'](?=\d{3}\b)", "", text)
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    elif re.fullmatch(r"[-+]?\d+,\d+", text):
        text = text.replace(",", ".")
    if "/" in text:
        top, _, bottom = text.partition("/")
        top, bottom = parse_number(top), parse_number(bottom)
        if top is None or bottom is None or bottom[0] == 0:
            return None
        return top[0] / bottom[0], False
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return (value, percent) if np.isfinite(value) else None


def _number_text(value):
    """A count with thousands separators (68,223), else 3 significant digits (68.2)."""
    if abs(value - round(value)) < 1e-9 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) >= 1 else f"{value:.3g}"


class Lesson:
    """Back / Next through the lesson's panels, sharing one :class:`LessonState`.

    ``allow_user_paths`` (default False: the lesson is what the Voila app serves) shows
    the fetch step's "Load my maps" box, which reads files of the machine running it.
    """

    def __init__(self, state=None, steps=None, background=True, allow_user_paths=False):
        self.state = LessonState() if state is None else state
        self.steps = STEPS if steps is None else steps
        # the app (Voila) does not let learners type paths of the server's files by default
        self.panels = [PANELS[step["panel"]](self.state, background, allow_user_paths)
                       if step["panel"] == "fetch" else
                       PANELS[step["panel"]](self.state, background) for step in self.steps]
        self.back = widgets.Button(description="Back", icon="arrow-left")
        self.next = widgets.Button(description="Next", icon="arrow-right")
        self.position = widgets.HTML()
        self.explanation, self.question, self.feedback = (widgets.HTML() for _ in range(3))
        self.choice = widgets.RadioButtons(layout=widgets.Layout(width="auto"))
        self.number = widgets.Text(placeholder="your answer, then Enter",
                                   continuous_update=False)  # value set on Enter (or blur)
        self.number.observe(self._on_submit, names="value")
        self.check = widgets.Button(description="Check")
        self.body = widgets.Box()
        self.back.on_click(lambda _: self.go(self.index - 1))
        self.next.on_click(lambda _: self.go(self.index + 1))
        self.check.on_click(lambda _: self.answer())
        self.answer_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        # "side" steps: the text and question in a column beside the panel (both in the
        # first screen of a projector); "wide" steps: the panel gets the page's width.
        self.text = widgets.VBox()
        self.page = widgets.Box(layout=widgets.Layout(flex_flow="row wrap", width="100%",
                                                      align_items="flex-start"))
        self.widget = widgets.VBox([
            widgets.HBox([self.back, self.next, self.position]), self.page, page_helper()])
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
        self._arrange(step.get("layout", "side"))
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

    def _on_submit(self, change):
        if change["new"].strip():
            self.answer()

    def _arrange(self, layout):
        parts = [self.explanation, self.question, self.answer_box, self.feedback]
        if layout == "wide":
            self.page.layout.flex_flow = "column"
            self.body.layout = widgets.Layout(width="100%")
            self.page.children = [parts[0], self.body, *parts[1:]]
            return
        self.page.layout.flex_flow = "row wrap"
        self.text.layout = widgets.Layout(flex="0 0 340px", margin="0 16px 0 0")
        self.body.layout = widgets.Layout(flex="1 1 600px", min_width="0")
        self.text.children = parts
        self.page.children = [self.text, self.body]

    def answer(self, value=None):
        """Check the learner's answer (the widget's value by default); show the verdict."""
        step = self.steps[self.index]
        if value is None:
            value = self.choice.value if "choices" in step else self.number.value
        ok, text = check_answer(step, value, self.state)
        self.feedback.value = message_html(text, "info" if ok else "warning")
        return ok
