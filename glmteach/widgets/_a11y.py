"""Accessibility the widgets do not give by themselves: names for sliders, visible focus.

ipywidgets' sliders (noUiSlider) draw their description in a label the slider handle is
not tied to, so a screen reader announces an unnamed "slider". :func:`page_helper` is a
hidden widget (anywidget) whose script, once per page, gives every slider handle its
description as ``aria-label`` (again whenever widgets are added) and adds a clear focus
ring for keyboard users. Panels and the lesson display it beside themselves.

:class:`Picture` is a PNG with a text alternative (``alt``), for the pictures that are not
clickable.
"""

import anywidget
import traitlets

_ESM = """
const FOCUS_CSS = `
.jupyter-widgets :focus-visible, .jupyter-widgets.jupyter-button:focus-visible,
.widget-slider .noUi-handle:focus, .jupyter-widgets input:focus-visible {
  outline: 3px solid #1a5fb4 !important; outline-offset: 2px !important;
}`;

function nameSliders(root) {
  for (const handle of root.querySelectorAll('.noUi-handle')) {
    const box = handle.closest('.widget-slider, .jupyter-widget-slider, .widget-hslider');
    const label = box && box.querySelector('.widget-label');
    const text = label ? label.textContent.trim() : '';
    if (text && handle.getAttribute('aria-label') !== text) {
      handle.setAttribute('aria-label', text);
    }
  }
}

function render({ el }) {
  el.style.display = 'none';
  if (window.__glmteachA11y) return;
  const style = document.createElement('style');
  style.textContent = FOCUS_CSS;
  document.head.appendChild(style);
  let pending = false;
  window.__glmteachA11y = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; nameSliders(document.body); });
  });
  window.__glmteachA11y.observe(document.body, {childList: true, subtree: true,
                                                characterData: true});
  nameSliders(document.body);
}

export default { render };
"""


class PageHelper(anywidget.AnyWidget):
    """Hidden: names the sliders and shows keyboard focus (see the module docstring)."""

    _esm = _ESM


_HELPER = None


def page_helper():
    """The one :class:`PageHelper` (a widget may be displayed any number of times)."""
    global _HELPER
    if _HELPER is None:
        _HELPER = PageHelper()
    return _HELPER


_PICTURE_ESM = """
function render({ model, el }) {
  const img = document.createElement('img');
  img.className = 'gt-picture';
  el.appendChild(img);
  let url = null;
  function show() {
    const value = model.get('value');
    const old = url;
    url = value && value.byteLength ?
      URL.createObjectURL(new Blob([value], { type: 'image/png' })) : null;
    if (url) img.src = url; else img.removeAttribute('src');
    if (old) setTimeout(() => URL.revokeObjectURL(old), 2000);
  }
  function describe() { img.alt = model.get('alt'); img.title = model.get('alt'); }
  model.on('change:value', show);
  model.on('change:alt', describe);
  show(); describe();
  return () => { if (url) URL.revokeObjectURL(url); };
}
export default { render };
"""


class Picture(anywidget.AnyWidget):
    """PNG bytes shown at their own pixel size (12 pt text = 12 px), with a text alternative.

    ``ipywidgets.Image`` has no ``alt``, and its ``tooltip`` breaks its view (ipywidgets
    8.1); this is the same picture with ``alt`` (and ``title``) kept up to date.

    Attributes
    ----------
    value : bytes
        The PNG.
    alt : str
        What the picture shows, with its numbers.
    """

    _esm = _PICTURE_ESM
    _css = ".gt-picture { display: block; max-width: 100%; height: auto; }"
    value = traitlets.Bytes(b"").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
