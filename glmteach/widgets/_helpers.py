"""Small widget helpers shared by the panels: messages, progress, the Panel base class."""

import functools
import html
import threading

import ipywidgets as widgets

from .state import LessonState

_STYLES = {
    "error": "color:#a40000;background:#fdecea;border-left:4px solid #d93025;",
    "info": "color:#174ea6;background:#e8f0fe;border-left:4px solid #1a73e8;",
    "warning": "color:#7a4f01;background:#fef7e0;border-left:4px solid #f9ab00;",
}


def message_html(text, kind="info"):
    """HTML of a one-line message box (``kind``: error, info, warning); '' hides it."""
    if not text:
        return ""
    return (f'<div style="{_STYLES[kind]}padding:4px 8px;margin:2px 0;font-size:13px">'
            f"{html.escape(text)}</div>")


def png_image(width=None):
    """An empty picture for PNG bytes (a :class:`~._a11y.Picture`: it has a text alternative).

    Shown at its own pixel size (figures are drawn at 72 dpi: a 12 pt text is 12 px), never
    stretched by its box, and scaled down only where the page is narrower than the picture.
    """
    from ._a11y import Picture

    layout = widgets.Layout(width=width, max_width="100%", align_self="flex-start")
    return Picture(layout=layout)


def describe(image, text):
    """Give a picture its text alternative (``alt`` and ``title``), with its numbers."""
    if hasattr(image, "cursor"):  # a clickable projection: say what clicks and keys do
        text += (" Click a voxel to point at it; arrow keys and Page Up/Down move the "
                 "cursor.")
    image.alt = text


def drawing(method):
    """Serialize a panel's redraws: results may arrive from a worker thread while the
    learner moves a slider (a matplotlib figure must not be drawn from two threads)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._draw_lock:
            return method(self, *args, **kwargs)
    return locked


class Panel:
    """One lesson step: a widget observing a :class:`LessonState`.

    Display the panel itself in a notebook cell (``FetchPanel(state)``) or use ``.widget``.
    ``background=False`` runs long work in the calling thread (tests, scripts).
    """

    title = ""
    tasks = ()  # the state tasks this panel starts (their errors are shown here)

    def __init__(self, state=None, background=True):
        self.state = LessonState() if state is None else state
        self.background = background
        self._draw_lock = threading.RLock()
        self.message = widgets.HTML()
        self.widget = widgets.VBox(layout=widgets.Layout(width="100%"))
        self._refused = False  # a "still running" warning is shown
        self.state.observe(self._on_error, names="error")
        self.state.observe(self._on_idle, names="busy")

    def _repr_mimebundle_(self, **kwargs):
        from ._a11y import page_helper

        return widgets.VBox([self.widget, page_helper()])._repr_mimebundle_(**kwargs)

    def show(self, text, kind="info"):
        self.message.value = message_html(text, kind)

    def _on_error(self, change):
        if change["new"] and self.state.busy in self.tasks:  # errors of this panel's tasks
            self.show(change["new"], "error")

    def _on_idle(self, change):
        if not change["new"] and self._refused:  # the run ended: the warning is stale
            self._refused = False
            self.show("")

    def start(self, task, *args):
        """Run a state task (in a thread when ``background``); say so if refused.

        The "still running" warning goes away by itself when the running task ends.
        """
        self.show("")
        busy = self.state.busy
        if not self.state.start(task, *args, background=self.background):
            self._refused = True
            self.show(f"'{busy or task}' is still running: wait for it to finish"
                      + (" or press Stop." if busy == "permute" else "."), "warning")
            if not self.state.busy:  # it ended meanwhile
                self._on_idle({"new": ""})
            return False
        self._refused = False
        return True


class ProgressRow:
    """Progress bar + Stop button that follow the state's running task ``tasks``."""

    def __init__(self, state, tasks, label, stoppable=True):
        self.state, self.tasks = state, tuple(tasks)
        self.stoppable = stoppable  # loading and masking have no stop point: no Stop
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=label,
                                         layout=widgets.Layout(width="320px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop",
                                          layout=widgets.Layout(width="80px"))
        self.stop_button.on_click(lambda _: state.stop())
        if not stoppable:
            self.stop_button.tooltip = "loading and masking cannot be interrupted"
        self.widget = widgets.HBox([self.bar, self.stop_button])
        state.observe(self._update, names=["busy", "progress"])
        self._update()

    @property
    def running(self):
        return self.state.busy in self.tasks

    def _update(self, change=None):
        self.stop_button.disabled = not (self.running and self.stoppable)
        self.bar.bar_style = "info" if self.running else ""
        if self.running:
            self.bar.value = max(self.state.progress, 0.02)
        elif change is not None and change["name"] == "busy":
            self.bar.value = 1.0 if not self.state.error else 0.0
