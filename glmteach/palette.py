"""The one visual language: each method's colour, line style, marker and label, and the maps.

Every panel, lab, notebook and the report take their styles from here, so that a method
looks the same wherever a learner meets it (a line on a histogram, a point in the null
world, a row of the report).

- Colours are chosen so that every pair stays distinguishable under simulated
  deuteranopia, protanopia and tritanopia (tests/test_palette.py measures the CAM02-UCS
  colour difference of each pair under each deficiency) and each reaches 3:1 contrast on
  white (WCAG 2.1, non-text). Text drawn in a method's colour uses :attr:`MethodStyle.text`,
  darkened where needed to reach 4.5:1 (WCAG AA for text).
- Line styles (and markers) differ for every method, so a greyscale print or a projector
  that washes colours out still tells the lines apart.
- Maps are drawn on a light grey brain, so the strongest values are the darkest. Signed
  maps (t, z, signed -log10 p) use ColorBrewer's ``RdBu_r`` (blue < 0 < red, even
  lightness steps, red/blue stays apart under the three deficiencies) without its pale
  middle, which thresholded maps never show. Unsigned -log10 p maps use ``inferno``
  reversed (perceptually uniform), from orange to dark purple, without its pale-yellow and
  black ends.
"""

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps, colors


@dataclass(frozen=True)
class MethodStyle:
    """How one method is drawn.

    Attributes
    ----------
    name : str
        Key (``"bonferroni"``...).
    label : str
        Short name shown to learners (legends, panel titles).
    color : str
        Hex sRGB colour of its lines, points and bars.
    linestyle : str or tuple
        matplotlib dash pattern.
    marker : str
        matplotlib marker.
    """

    name: str
    label: str
    color: str
    linestyle: object
    marker: str

    @property
    def line(self):
        """Keyword arguments for ``ax.plot`` / ``ax.axvline``: colour and dash pattern."""
        return dict(color=self.color, linestyle=self.linestyle)

    @property
    def text(self):
        """The colour for text in this method's colour: reaches 4.5:1 on white."""
        return text_color(self.color)


_STYLES = [
    # name           label                         colour     line style            marker
    ("uncorrected", "uncorrected p", "#bf0d33", (0, (1, 1.5)), "v"),
    ("bonferroni", "Bonferroni", "#aa3377", (0, (6, 2)), "s"),
    ("sidak", "Sidak", "#ff4066", (0, (6, 2, 1, 2, 1, 2)), "D"),
    ("holm", "Holm", "#66268c", (0, (2, 2)), "<"),
    ("fdr_bh", "FDR (Benjamini-Hochberg)", "#335900", (0, (4, 1, 1, 1)), "P"),
    ("rft", "random field theory", "#b86e00", (0, (5, 2, 1, 2)), "^"),
    ("spm", "SPM (min of RFT, Bonferroni)", "#802640", (0, (8, 2, 2, 2)), "h"),
    ("permutation", "permutation max-t", "#009e73", "-", "o"),
    ("cluster_size", "cluster size (perm.)", "#0072b2", (0, (3, 1)), "X"),
    ("cluster_mass", "cluster mass (perm.)", "#1a00f2", (0, (10, 3)), "d"),
    ("tfce", "TFCE (perm.)", "#a659ff", (0, (1, 1, 4, 1)), "*"),
    ("rft_cluster", "cluster extent (RFT)", "#8c8cd9", (0, (3, 3, 1, 3)), ">"),
    ("observed", "observed max |t|", "#000000", (0, (1, 3)), "|"),
]
METHOD_STYLES = {name: MethodStyle(name, label, color, ls, marker)
                 for name, label, color, ls, marker in _STYLES}

# other modules' keys for the same methods
ALIASES = {"size": "cluster_size", "cluster": "cluster_size", "mass": "cluster_mass",
           "observed max": "observed", "max": "observed"}


def style(name):
    """The :class:`MethodStyle` of a method (aliases such as ``"size"`` accepted)."""
    key = ALIASES.get(name, name)
    try:
        return METHOD_STYLES[key]
    except KeyError:
        raise KeyError(f"no style for method {name!r}; known: "
                       f"{', '.join(METHOD_STYLES)} (add it to glmteach/palette.py)") from None


def color(name):
    return style(name).color


def label(name):
    return style(name).label


def line(name):
    """``dict(color=..., linestyle=...)`` for a method's lines."""
    return style(name).line


# ---------------------------------------------------------------- neutral colours
TEXT = "#222222"          # body text (15.9:1 on white)
MUTED_TEXT = "#555555"    # captions, axis labels (7.5:1)
BARS = "#b3b3b3"          # histogram bars (the null)
BAR_EDGE = "#737373"
BAND = "#009e73"          # the Monte-Carlo band of the permutation threshold (alpha 0.2)
OUTLINE_FILL = "#e6e6e6"  # glass brain silhouette
OUTLINE_EDGE = "#595959"
MASK = "#d55e00"          # the group mask over the template


# ---------------------------------------------------------------- contrast (WCAG 2.1)
def relative_luminance(rgb):
    """WCAG relative luminance of an sRGB colour (name, hex or RGB in [0, 1])."""
    c = np.asarray(colors.to_rgb(rgb), dtype=float)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast_ratio(foreground, background="#ffffff"):
    """WCAG contrast ratio (1 to 21) of two colours."""
    hi, lo = sorted([relative_luminance(foreground), relative_luminance(background)],
                    reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_color(rgb, background="#ffffff", minimum=4.5):
    """``rgb`` darkened (same hue) until it reaches ``minimum`` contrast on ``background``."""
    c = np.asarray(colors.to_rgb(rgb), dtype=float)
    for scale in np.linspace(1.0, 0.0, 101):
        candidate = colors.to_hex(c * scale)
        if contrast_ratio(candidate, background) >= minimum:
            return candidate
    return "#000000"


# ---------------------------------------------------------------- colour maps
SIGNED_GAP = 0.35  # each half of RdBu_r from its dark end to 35% of the way to white


def signed_cmap():
    """Diverging map for signed maps: blue < 0 < red, darker = stronger.

    ColorBrewer's ``RdBu_r`` without its pale middle: values that pass a display threshold
    never fade into the light grey brain, and the strongest are the darkest.
    """
    rdbu = colormaps["RdBu_r"]
    halves = [rdbu(np.linspace(0.0, SIGNED_GAP, 128)), rdbu(np.linspace(1 - SIGNED_GAP, 1.0, 128))]
    listed = colors.ListedColormap(np.vstack(halves), name="RdBu_r_outer")
    return listed.with_extremes(bad=(0, 0, 0, 0))


def sequential_cmap():
    """Sequential map for -log10 p: ``inferno`` reversed, orange (weak) to dark purple (strong)."""
    inferno = colormaps["inferno"]
    listed = colors.ListedColormap(inferno(np.linspace(0.8, 0.15, 256)), name="inferno_r_mid")
    return listed.with_extremes(bad=(0, 0, 0, 0))
