"""A PNG picture that reports clicks and cursor keys to Python, with a crosshair overlay.

Why an ``anywidget`` component (and not ``ipyevents`` on ``ipywidgets.Image``):

- It must work in JupyterLab, in the Voila app and on Binder with what ``pip install``
  brings. ``anywidget`` ships its JupyterLab extension inside its wheel (as ipywidgets
  does), so Lab, Voila (which loads the same prebuilt extensions) and Binder render it
  with no ``jupyter labextension`` step; the component's own code is the short ES module
  below, sent with the widget: there is nothing of ours to build or install.
- Keyboard users: ``ipyevents`` listens to keys only while the mouse hovers the picture,
  and then swallows every key (Tab included). Here the picture is focusable (Tab reaches
  it, with a visible focus ring) and only the six cursor keys are taken: arrow keys move
  the cursor along x (left/right) and y (up/down), Page Up/Down along z.
- The cursor's crosshair is drawn by the browser over the picture (marks given as
  fractions of its size): moving the cursor does not re-render the projection's PNG.

Clicks arrive in the picture's own pixels (top-left origin, the PNG's size, whatever the
size on screen), ready for :func:`glmteach.picking.axes_point`.
"""

import logging

import anywidget
import traitlets

_log = logging.getLogger("glmteach")

_ESM = r"""
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "gt-clickable";
  const img = document.createElement("img");
  img.tabIndex = 0;
  img.draggable = false;
  box.appendChild(img);
  const marks = document.createElement("div");
  marks.className = "gt-marks";
  box.appendChild(marks);
  el.appendChild(box);
  let url = null;
  const KEYS = ["ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown", "PageUp", "PageDown"];

  function showImage() {
    const value = model.get("value");
    if (!value || !value.byteLength) { img.removeAttribute("src"); return; }
    const old = url;
    url = URL.createObjectURL(new Blob([value], { type: "image/png" }));
    img.src = url;
    if (old) setTimeout(() => URL.revokeObjectURL(old), 2000);
  }
  function showMarks() {
    marks.replaceChildren();
    for (const [fx, fy] of model.get("marks")) {
      for (const dir of ["h", "v"]) {
        const line = document.createElement("div");
        line.className = "gt-mark gt-mark-" + dir;
        line.style.left = (100 * fx) + "%";
        line.style.top = (100 * fy) + "%";
        marks.appendChild(line);
      }
    }
  }
  function describe() {
    img.alt = model.get("alt");
    img.title = model.get("alt");
  }
  img.addEventListener("click", (event) => {
    const rect = img.getBoundingClientRect();
    if (!rect.width || !rect.height) return;
    img.focus();
    model.send({ event: "click",
                 fx: (event.clientX - rect.left) / rect.width,
                 fy: (event.clientY - rect.top) / rect.height });
  });
  img.addEventListener("keydown", (event) => {
    if (!KEYS.includes(event.key) || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    event.stopPropagation();
    model.send({ event: "key", key: event.key });
  });
  model.on("change:value", showImage);
  model.on("change:marks", showMarks);
  model.on("change:alt", describe);
  showImage(); showMarks(); describe();
  return () => { if (url) URL.revokeObjectURL(url); };
}
export default { render };
"""

_CSS = """
.gt-clickable { position: relative; display: inline-block; line-height: 0; }
.gt-clickable img { max-width: 100%; height: auto; cursor: crosshair; }
.gt-clickable img:focus-visible, .gt-clickable img:focus { outline: 2px solid #1a73e8;
  outline-offset: 1px; }
.gt-marks { position: absolute; inset: 0; pointer-events: none; }
.gt-mark { position: absolute; background: #00a651; }
.gt-mark-h { width: 14px; height: 2px; margin: -1px 0 0 -7px; }
.gt-mark-v { width: 2px; height: 14px; margin: -7px 0 0 -1px; }
"""


class ClickableImage(anywidget.AnyWidget):
    """PNG bytes shown as a picture; clicks and cursor keys call Python back.

    Attributes
    ----------
    value : bytes
        The PNG (as ``ipywidgets.Image.value``).
    alt : str
        Text alternative (and tooltip): what the picture shows and that it can be clicked.
    marks : list of (fx, fy)
        Crosshairs drawn over the picture, as fractions of its width and height.
    """

    _esm = _ESM
    _css = _CSS
    value = traitlets.Bytes(b"").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
    marks = traitlets.List([]).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._click_handlers, self._key_handlers = [], []
        self.on_msg(self._on_message)

    def on_click(self, handler):
        """Call ``handler(px, py)`` on a click: pixels of the PNG from its top-left corner."""
        self._click_handlers.append(handler)

    def on_key(self, handler):
        """Call ``handler(key)`` for the cursor keys (``"ArrowLeft"``, ``"PageUp"``...)."""
        self._key_handlers.append(handler)

    def click(self, px, py):
        """What a click at pixel (px, py) of the PNG does (tests and benchmarks use it)."""
        self._call(self._click_handlers, float(px), float(py))

    def press(self, key):
        """What pressing ``key`` on the focused picture does."""
        self._call(self._key_handlers, str(key))

    def _call(self, handlers, *args):
        for handler in handlers:
            try:
                handler(*args)
            except Exception:  # a failed click leaves the picture as it was: no traceback
                _log.debug("a click or key could not be handled", exc_info=True)

    def _on_message(self, widget, content, buffers):
        if not isinstance(content, dict):
            return
        if content.get("event") == "click" and self.value:
            from ..picking import png_size

            width, height = png_size(self.value)
            try:
                fx, fy = float(content["fx"]), float(content["fy"])
            except (KeyError, TypeError, ValueError):
                return
            self.click(fx * width, fy * height)
        elif content.get("event") == "key":
            self.press(content.get("key", ""))
