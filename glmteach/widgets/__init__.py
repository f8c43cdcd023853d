"""Jupyter panels of the lesson, all observing one :class:`LessonState`.

::

    from glmteach.widgets import LessonState, FetchPanel, ComparisonPanel, Lesson
    state = LessonState(source="auto", n_subjects=16)
    FetchPanel(state)          # in one cell
    ComparisonPanel(state)     # in another: both follow the same state
    Lesson(state)              # or the whole lesson with Back / Next
"""

from .state import LessonState
from .panels import ComparisonPanel, FetchPanel, MaskPanel, TTestPanel
from .lesson import STEPS, Lesson, check_answer

__all__ = ["LessonState", "FetchPanel", "MaskPanel", "TTestPanel", "ComparisonPanel",
           "Lesson", "STEPS", "check_answer"]
