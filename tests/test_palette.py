"""The palette: colours distinguishable under colour-vision deficiencies, lines in greyscale,
contrast on white, perceptually uniform colour maps.

Colour differences are CAM02-UCS Delta E (colorspacious; ~1 is a just-noticeable difference,
Delta E >= 10 reads as "clearly different" beside each other). Deficiencies are simulated at
full severity (dichromacy) with Machado et al. (2009), colorspacious's model.
"""

import itertools

import colorspacious
import numpy as np
import pytest
from matplotlib import colors
from matplotlib.lines import _get_dash_pattern

from glmteach import palette

MIN_DELTA_E = 10.0
DEFICIENCIES = ("deuteranomaly", "protanomaly", "tritanomaly")
NAMES = list(palette.METHOD_STYLES)


def _ucs(rgb, deficiency=None):
    rgb = np.asarray(rgb, dtype=float)
    if deficiency is not None:
        cvd = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        rgb = np.clip(colorspacious.cspace_convert(rgb, cvd, "sRGB1"), 0, 1)
    return colorspacious.cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def _delta_e(a, b, deficiency=None):
    return float(np.linalg.norm(_ucs(colors.to_rgb(a), deficiency)
                                - _ucs(colors.to_rgb(b), deficiency)))


def test_cvd_simulation_is_what_we_think():
    # red and green collapse for a deuteranope, and stay apart for a tritanope
    assert _delta_e("#ff0000", "#00aa00", "deuteranomaly") < \
        0.5 * _delta_e("#ff0000", "#00aa00")
    # blue and green collapse for a tritanope more than for normal vision
    assert _delta_e("#0072b2", "#009e73", "tritanomaly") < _delta_e("#0072b2", "#009e73")


@pytest.mark.parametrize("deficiency", (None,) + DEFICIENCIES)
def test_every_pair_of_method_colours_differs(deficiency):
    worst = min((_delta_e(palette.color(a), palette.color(b), deficiency), a, b)
                for a, b in itertools.combinations(NAMES, 2))
    assert worst[0] >= MIN_DELTA_E, f"{worst[1]} vs {worst[2]} under {deficiency}: {worst[0]:.1f}"


def test_line_styles_and_markers_tell_methods_apart_in_greyscale():
    dashes = [str(_get_dash_pattern(palette.style(n).linestyle)) for n in NAMES]
    markers = [palette.style(n).marker for n in NAMES]
    assert len(set(dashes)) == len(NAMES)
    assert len(set(markers)) == len(NAMES)


def test_lines_and_text_reach_wcag_contrast_on_white():
    for name in NAMES:
        style = palette.style(name)
        assert palette.contrast_ratio(style.color) >= 3.0, name  # graphics (WCAG 1.4.11)
        assert palette.contrast_ratio(style.text) >= 4.5, name  # text (WCAG 1.4.3 AA)
    for name in ("TEXT", "MUTED_TEXT"):
        assert palette.contrast_ratio(getattr(palette, name)) >= 4.5


def test_contrast_ratio_matches_wcag_examples():
    assert palette.contrast_ratio("#000000") == pytest.approx(21.0)
    assert palette.contrast_ratio("#ffffff") == pytest.approx(1.0)
    assert palette.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # WebAIM's grey


def test_text_colour_keeps_hue_and_only_darkens():
    for name in NAMES:
        base = np.array(colors.to_rgb(palette.color(name)))
        text = np.array(colors.to_rgb(palette.style(name).text))
        assert np.all(text <= base + 1e-9)
        if base.max() > 0:
            ratio = text[base > 0.05] / base[base > 0.05]
            assert np.ptp(ratio) < 0.05  # one scale factor: same hue


def test_aliases_and_unknown_methods():
    assert palette.style("size") is palette.style("cluster_size")
    assert palette.line("cluster") == palette.line("cluster_size")
    with pytest.raises(KeyError, match="palette.py"):
        palette.style("nope")


def _ucs_of(cmap, x):
    return _ucs(cmap(x)[:, :3])


def _even(ucs, factor):
    steps = np.linalg.norm(np.diff(ucs, axis=0), axis=1)
    return steps.max() < factor * np.median(steps)


def test_sequential_map_is_monotonic_and_even():
    ucs = _ucs_of(palette.sequential_cmap(), np.linspace(0, 1, 64))
    assert np.all(np.diff(ucs[:, 0]) < 0)  # stronger is darker: order reads in greyscale
    assert _even(ucs, 1.6)  # perceptually even steps


@pytest.mark.parametrize("deficiency", (None,) + DEFICIENCIES)
def test_signed_map_tells_the_sign_apart(deficiency):
    cmap = palette.signed_cmap()
    for magnitude in np.linspace(0.01, 1.0, 12):  # any value that survives a threshold
        positive = _ucs(cmap(0.5 + magnitude / 2)[:3], deficiency)
        negative = _ucs(cmap(0.5 - magnitude / 2)[:3], deficiency)
        assert np.linalg.norm(positive - negative) >= 20.0, magnitude


def test_signed_map_halves_are_symmetric_monotonic_and_even():
    cmap = palette.signed_cmap()
    x = np.linspace(0.5 + 1 / 512, 1.0, 33)  # 256 entries: the upper half starts at 0.5
    upper, lower = _ucs_of(cmap, x), _ucs_of(cmap, 1.0 - x)
    np.testing.assert_allclose(upper[:, 0], lower[:, 0], atol=4.0)  # same lightness for +-v
    for half in (upper, lower):
        assert np.all(np.diff(half[:, 0]) < 0)  # stronger is darker, on either side
        assert _even(half, 1.6)
    # the faintest shown colour still stands out from the brain's grey
    grey = _ucs(colors.to_rgb(palette.OUTLINE_FILL))
    assert np.linalg.norm(upper[0] - grey) >= 15 and np.linalg.norm(lower[0] - grey) >= 15


def test_report_css_text_reaches_wcag_aa():
    """Every CSS rule of the report that sets a text colour on a background (or inherits
    the page's white) reaches 4.5:1; so does code inside the SIMULATED banner."""
    import re

    from glmteach.report import _CSS

    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", _CSS))
    rules = {selector.strip(): body for selector, body in rules.items()}

    def prop(selector, name):
        found = re.search(rf"(?<![-\w]){name}:\s*([^;]+);", rules.get(selector, ""))
        return found.group(1).strip() if found else None

    checked = 0
    for selector in rules:
        colour = prop(selector, "color")
        if colour is None:
            continue
        background = prop(selector, "background") or "#ffffff"
        assert palette.contrast_ratio(colour, background) >= 4.5, selector
        checked += 1
    assert checked >= 4
    banner_code = prop(".simulated code", "color"), prop(".simulated code", "background")
    assert palette.contrast_ratio(*banner_code) >= 4.5


def test_panel_message_boxes_reach_wcag_aa():
    import re

    from glmteach.widgets._helpers import _STYLES

    for kind, style in _STYLES.items():
        colour = re.search(r"(?<![-\w])color:\s*([^;]+);", style).group(1)
        background = re.search(r"background:\s*([^;]+);", style).group(1)
        assert palette.contrast_ratio(colour, background) >= 4.5, kind
