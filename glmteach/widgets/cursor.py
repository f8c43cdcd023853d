"""Clickable projections: a click moves the lesson's cursor, the cursor is marked on them.

:func:`clickable_projection` turns a panel's glass-brain picture into a
:class:`~glmteach.widgets.clickable.ClickableImage` tied to the lesson's cursor:

- a click picks the voxel the projection shows at that pixel
  (:func:`glmteach.render.slices.projection_voxel`) and moves ``state.cursor`` there;
- arrow keys and Page Up/Down move the cursor one voxel along x, y, z;
- the cursor is drawn as a crosshair over every view of the picture (by the browser: the
  PNG is not re-rendered).

Pictures and cursor meet in mm: a picture's grid (the subjects' maps) may differ from the
masked maps' grid the cursor lives on.
"""

import numpy as np

from .. import picking
from ..render import slices as slice_pictures
from .clickable import ClickableImage


class ProjectionCursor:
    """Ties a :class:`ClickableImage` showing a ``GlassBrainFigure`` to ``state.cursor``.

    Parameters
    ----------
    state : LessonState
    image : ClickableImage
    figure : callable
        Returns the panel's current ``GlassBrainFigure`` (or None): panels make new figures
        when the data change.
    tiebreak : callable, optional
        Returns a canonical volume; on a plateau of the shown value the voxel with the
        largest tiebreak is picked (e.g. ``|t|`` under corrected p maps).
    """

    def __init__(self, state, image, figure, tiebreak=None):
        self.state, self.image = state, image
        self._figure, self._tiebreak = figure, tiebreak
        image.on_click(self.click)
        image.on_key(state.move_cursor)
        image.observe(self.update_marks, names="value")
        state.observe(self.update_marks, names="cursor")

    def click(self, px, py):
        """Move the cursor to the voxel under pixel (px, py) of the picture."""
        figure = self._figure()
        if figure is None:
            return None
        current = None
        cursor = self.state.cursor
        if cursor is not None:
            current = picking.mm_to_voxel(figure.grid.affine, cursor.xyz,
                                          figure.grid.original_shape)
        tiebreak = self._tiebreak() if self._tiebreak is not None else None
        hit = slice_pictures.projection_voxel(figure, px, py, current, tiebreak)
        if hit is None:
            return None
        ijk, _, _ = hit
        xyz = picking.voxel_to_mm(figure.grid.affine, ijk)
        return self.state.point_at(xyz, "projection")

    def update_marks(self, change=None):
        figure, cursor = self._figure(), self.state.cursor
        marks = []
        if figure is not None and cursor is not None:
            ijk = picking.mm_to_voxel(figure.grid.affine, cursor.xyz, figure.grid.original_shape)
            marks = [list(m) for m in slice_pictures.projection_marks(figure, ijk)]
        if marks != self.image.marks:
            self.image.marks = marks


def clickable_projection(state, figure, tiebreak=None, alt="brain picture"):
    """A new :class:`ClickableImage` for a panel's projections, tied to the cursor."""
    image = ClickableImage(alt=f"{alt}: click a voxel to point at it; arrow keys and Page "
                               "Up/Down move the cursor one voxel")
    image.cursor = ProjectionCursor(state, image, figure, tiebreak)
    return image


def abs_t_volume(state, grid):
    """Canonical ``|t|`` on a figure's grid (the tiebreak of corrected-p projections)."""
    if state.ttest is None:
        return None
    return grid.volume(np.abs(state.ttest.t))
