"""nilearn's glass-brain outlines as one matplotlib artist per view, paths shared.

``nilearn.plotting.glass_brain.plot_brain_schematics`` adds one ``PathPatch`` per curve
(170-350 a view, about 9 kB each): the subjects' 16 views and step 4's method views held
~100 MB of artists in a learner's kernel. Here each view's curves are read once per process
and drawn by a single ``PathCollection`` with nilearn's colours, widths and placement (the
same Agg strokes, so the same pixels).
"""

from functools import lru_cache
import json

import numpy as np
from matplotlib import colors
from matplotlib.collections import PathCollection
from matplotlib.path import Path


@lru_cache(maxsize=8)
def _view(direction):
    """(paths, edge colours, widths, transform, bounds) of nilearn's schematic of a view."""
    from nilearn.plotting import glass_brain

    filename, transform = glass_brain._get_json_and_transform(direction)  # noqa: SLF001
    with open(filename) as handle:
        content = json.load(handle)
    paths, edge, width = [], [], []
    for group in content["paths"]:
        for item in group["items"]:
            codes = glass_brain._codes(item["type"], item["pts"])  # noqa: SLF001
            paths.append(Path(item["pts"], codes))
            edge.append(colors.to_rgba(group["edgecolor"]))
            width.append(group["linewidth"])
    bounds = glass_brain._get_object_bounds(content, transform)  # noqa: SLF001
    return paths, np.array(edge), np.array(width, dtype=float), transform, bounds


def plot_brain_schematics(ax, direction, linewidth=None):
    """Draw the outline of view ``direction`` in ``ax`` (as nilearn's function does on a
    white background); return its bounds ``(xmin, xmax, ymin, ymax)`` in mm."""
    paths, edge, width, transform, bounds = _view(direction)
    if colors.to_rgba(ax.get_facecolor()) == colors.to_rgba("k"):
        edge = np.column_stack([1 - edge[:, :3], edge[:, 3]])
    outline = PathCollection(paths, facecolors="none", edgecolors=edge,
                             linewidths=width if linewidth is None else linewidth,
                             capstyle="butt", joinstyle="miter",  # a PathPatch's
                             transform=transform + ax.transData)
    ax.add_collection(outline, autolim=False)
    return bounds
