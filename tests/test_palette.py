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


def _lightness(cmap, n=64):
    return _ucs(cmap(np.linspace(0, 1, n))[:, :3])[:, 0]


def test_sequential_map_is_monotonic_and_even():
    ucs = _ucs(palette.sequential_cmap()(np.linspace(0, 1, 64))[:, :3])
    assert np.all(np.diff(ucs[:, 0]) > 0)  # lightness rises: order reads in greyscale too
    steps = np.linalg.norm(np.diff(ucs, axis=0), axis=1)
    assert steps.max() < 1.6 * np.median(steps)  # perceptually even steps


@pytest.mark.parametrize("deficiency", (None,) + DEFICIENCIES)
def test_signed_map_tells_the_sign_apart(deficiency):
    cmap = palette.signed_cmap()
    values = np.linspace(0.6, 1.0, 5)  # what survives a display threshold
    positive = _ucs(cmap(0.5 + values / 2)[:, :3], deficiency)
    negative = _ucs(cmap(0.5 - values / 2)[:, :3], deficiency)
    assert np.linalg.norm(positive - negative, axis=1).min() >= 20.0


def test_signed_map_is_symmetric_in_lightness_and_even():
    lightness = _lightness(palette.signed_cmap(), 65)
    np.testing.assert_allclose(lightness, lightness[::-1], atol=8.0)  # berlin: within 8
    assert lightness.argmin() == pytest.approx(32, abs=3)  # dark centre
    ucs = _ucs(palette.signed_cmap()(np.linspace(0, 1, 65))[:, :3])
    steps = np.linalg.norm(np.diff(ucs, axis=0), axis=1)
    assert steps.max() < 2.0 * np.median(steps)
