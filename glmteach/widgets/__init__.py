"""Jupyter panels of the lesson, all observing one :class:`LessonState`.

::

    from glmteach.widgets import LessonState, FetchPanel, ComparisonPanel, Lesson
    state = LessonState(source="auto", n_subjects=16)
    FetchPanel(state)          # in one cell
    ComparisonPanel(state)     # in another: both follow the same state
    Lesson(state)              # or the whole lesson with Back / Next
    NullWorldPanel(state)      # labs: does each method keep its alpha with no effect?
    SignFlipExplainer(state)   # labs: the permutation null built flip by flip
    GroupsPanel(maps, masked)  # groups and covariates: paired, two-sample, covariate designs
    ConfoundLab()              # labs: Freedman-Lane, ter Braak, Manly in null studies
"""

from .state import LessonState
from .panels import ComparisonPanel, FetchPanel, MaskPanel, TTestPanel
from .lesson import STEPS, Lesson, check_answer
from .labs import NullWorldPanel, SignFlipExplainer
from .groups import ConfoundLab, GroupsPanel

__all__ = ["LessonState", "FetchPanel", "MaskPanel", "TTestPanel", "ComparisonPanel",
           "Lesson", "STEPS", "check_answer", "NullWorldPanel", "SignFlipExplainer",
           "GroupsPanel", "ConfoundLab"]
