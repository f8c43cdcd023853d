"""Pictures: fast "glass brain" projections for live panels, nilearn figures for reports.

- :mod:`.grid`: :class:`BrainGrid` (a mask's voxels in RAS order, projections, outline).
- :mod:`.glass`: :class:`GlassBrainFigure`, live maximum-intensity projections.
- :mod:`.histogram`: :class:`HistogramFigure` (thresholds on a null distribution).
- :mod:`.slices`: :class:`~.slices.SliceFigure` (three slices through the cursor: a map,
  or the group mask, over the MNI template) and what a click on a picture points at.
- :mod:`.static`: :func:`static_glass_brain` (nilearn, for reports).
- colours and colour maps come from :mod:`glmteach.palette`.
"""

from ..palette import sequential_cmap, signed_cmap
from ._canvas import FONT_SIZE, PNG_DPI, _LiveFigure, figure_png, new_figure, rgba_png
from .glass import GlassBrainFigure
from .grid import VIEWS, BrainGrid, mni_brain_mask, mni_template, signed_mip
from .histogram import HistogramFigure
from .static import static_glass_brain

__all__ = [
    "FONT_SIZE", "PNG_DPI", "VIEWS", "BrainGrid", "GlassBrainFigure", "HistogramFigure",
    "figure_png", "mni_brain_mask", "mni_template", "new_figure", "rgba_png",
    "sequential_cmap", "signed_cmap", "signed_mip", "static_glass_brain",
]
