"""Where is the learner pointing? Pixels of the pictures <-> voxels of the lesson's grid.

Pure functions (arrays and numbers in, numbers out), shared by the pictures that can be
clicked (:mod:`glmteach.render`) and by the cursor of the lesson
(:class:`~glmteach.widgets.state.LessonState`).

Conventions:

- ``ijk``: voxel indices on an image's own grid (the order of ``affine``; the localizer's
  x axis is flipped: ``affine[0, 0] = -3``). ``xyz``: MNI millimetres,
  ``xyz = affine @ (i, j, k, 1)`` (nibabel's ``apply_affine``).
- ``abc``: the same voxel in canonical (RAS) index order, the order the pictures are drawn
  in (:class:`glmteach.render.BrainGrid`): ``a`` grows to the right, ``b`` to the front,
  ``c`` upwards. ``ornt`` is nibabel's ``io_orientation(affine)``.
- A view (``"x"`` sagittal, ``"y"`` coronal, ``"z"`` axial) shows two world axes
  (:data:`PLANE_AXES`, horizontal then vertical) and looks along the third
  (:data:`DEPTH_AXIS`). Its picture spans ``extent = (left, right, bottom, top)`` mm,
  matplotlib's ``imshow(origin="lower")`` order, one pixel column per voxel.
- On a projection (a maximum-intensity projection) a pixel shows one voxel of its ray:
  the one of largest magnitude (signed maps) or largest value (unsigned maps). That voxel is
  the one a click picks (:func:`ray_voxel`).
"""

import numpy as np

#: World axes shown by each view: (horizontal, vertical).
PLANE_AXES = {"x": (1, 2), "y": (0, 2), "z": (0, 1)}
#: World axis each view looks along.
DEPTH_AXIS = {"x": 0, "y": 1, "z": 2}
#: Keys that move the cursor one voxel: key -> (world axis, step).
KEY_STEPS = {"ArrowRight": (0, 1), "ArrowLeft": (0, -1), "ArrowUp": (1, 1),
             "ArrowDown": (1, -1), "PageUp": (2, 1), "PageDown": (2, -1)}


def voxel_to_mm(affine, ijk):
    """mm coordinates of voxel indices (``apply_affine``), shape (3,) or (n, 3)."""
    affine = np.asarray(affine, dtype=float)
    ijk = np.asarray(ijk, dtype=float)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def mm_to_voxel(affine, xyz, shape=None):
    """Nearest voxel indices of mm coordinates (ints), or None if outside ``shape``."""
    affine = np.asarray(affine, dtype=float)
    xyz = np.asarray(xyz, dtype=float)
    if xyz.shape != (3,) or not np.isfinite(xyz).all():
        raise ValueError(f"xyz must be 3 finite numbers (mm), got {xyz!r}; e.g. (38, -22, 56).")
    ijk = np.linalg.solve(affine[:3, :3], xyz - affine[:3, 3])
    ijk = tuple(int(v) for v in np.round(ijk))
    if shape is not None and not all(0 <= v < n for v, n in zip(ijk, shape)):
        return None
    return ijk


def to_canonical(ijk, ornt, shape):
    """Voxel indices on the original grid -> canonical (RAS) indices ``abc``."""
    abc = [0, 0, 0]
    for axis, (target, flip) in enumerate(np.asarray(ornt).astype(int)):
        abc[target] = int(ijk[axis]) if flip > 0 else int(shape[axis]) - 1 - int(ijk[axis])
    return tuple(abc)


def from_canonical(abc, ornt, shape):
    """Canonical (RAS) indices -> voxel indices on the original grid (inverse of the above)."""
    ijk = [0, 0, 0]
    for axis, (target, flip) in enumerate(np.asarray(ornt).astype(int)):
        ijk[axis] = int(abc[target]) if flip > 0 else int(shape[axis]) - 1 - int(abc[target])
    return tuple(ijk)


def canonical_shape(ornt, shape):
    out = [0, 0, 0]
    for axis, (target, _) in enumerate(np.asarray(ornt).astype(int)):
        out[target] = int(shape[axis])
    return tuple(out)


def plane_index(value_mm, low, high, n):
    """Index of the pixel column (or row) that ``value_mm`` falls in, or None if outside.

    The picture spans ``low`` .. ``high`` mm with ``n`` equal pixels (one per voxel).
    """
    if not np.isfinite(value_mm) or not low <= value_mm <= high:
        return None
    return int(min(n - 1, np.floor((value_mm - low) / (high - low) * n)))


def plane_mm(index, low, high, n):
    """Centre (mm) of pixel ``index`` of a picture spanning ``low`` .. ``high`` in ``n``."""
    return low + (index + 0.5) * (high - low) / n


def view_to_canonical(view, u_mm, v_mm, extent, shape_abc):
    """In-plane canonical indices of a point of a view, ``{axis: index}``, or None outside.

    ``u_mm``, ``v_mm``: the point in the view's horizontal / vertical world coordinates;
    ``extent``: the picture's ``(left, right, bottom, top)`` mm; ``shape_abc``: canonical
    shape of the grid.
    """
    h, v = PLANE_AXES[view]
    a = plane_index(u_mm, extent[0], extent[1], shape_abc[h])
    b = plane_index(v_mm, extent[2], extent[3], shape_abc[v])
    if a is None or b is None:
        return None
    return {h: a, v: b}


def canonical_to_view(view, abc, extent, shape_abc):
    """The point (u, v) mm of a view where canonical voxel ``abc`` is drawn (its centre)."""
    h, v = PLANE_AXES[view]
    return (plane_mm(abc[h], extent[0], extent[1], shape_abc[h]),
            plane_mm(abc[v], extent[2], extent[3], shape_abc[v]))


def ray_voxel(ray, signed=True, tiebreak=None):
    """Index along a projection's ray of the voxel the projection shows, or None if empty.

    Parameters
    ----------
    ray : ndarray, shape (n,)
        The values along the ray (canonical order, 0 = no value).
    signed : bool
        Signed maximum-intensity projections keep the value of largest magnitude
        (``np.argmax(|ray|)``, as :func:`glmteach.render.signed_mip`); unsigned ones the
        largest value.
    tiebreak : ndarray, shape (n,), optional
        Among voxels with the shown value (e.g. a plateau of corrected p), the one with the
        largest ``tiebreak`` (e.g. ``|t|``) is picked; default: the first, as ``argmax``.
    """
    ray = np.nan_to_num(np.asarray(ray, dtype=np.float32))
    key = np.abs(ray) if signed else ray
    if not np.any(ray):
        return None
    best = int(np.argmax(key))
    if tiebreak is not None:
        ties = np.flatnonzero(key == key[best])
        if ties.size > 1:
            best = int(ties[np.argmax(np.asarray(tiebreak)[ties])])
    return best


def ray(volume_abc, view, in_plane):
    """The values of a canonical volume along a view's ray through ``in_plane``."""
    take = [slice(None)] * 3
    for axis, index in in_plane.items():
        take[axis] = index
    return np.asarray(volume_abc)[tuple(take)]


def step_voxel(ijk, key, ornt, shape):
    """The voxel one step away along a world axis (see :data:`KEY_STEPS`), clipped."""
    axis, step = KEY_STEPS[key]
    abc = list(to_canonical(ijk, ornt, shape))
    shape_abc = canonical_shape(ornt, shape)
    abc[axis] = int(np.clip(abc[axis] + step, 0, shape_abc[axis] - 1))
    return from_canonical(abc, ornt, shape)


def png_size(png):
    """(width, height) in pixels of PNG bytes (from the IHDR header)."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not PNG bytes; pass what figure.to_png() returned.")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def axes_point(ax, px, py):
    """Data coordinates under pixel (px, py) of the figure's PNG, or None if outside ``ax``.

    ``px``, ``py``: pixels from the top-left corner of the picture, as a browser gives them
    (the PNG is rendered at the figure's dpi, so a PNG pixel is a display pixel).
    """
    height = ax.figure.bbox.height
    x, y = float(px), height - float(py)
    if not ax.get_window_extent().contains(x, y):
        return None
    u, v = ax.transData.inverted().transform((x, y))
    return float(u), float(v)


def axes_pixel(ax, u, v):
    """Pixel (px, py) from the top-left of the figure's PNG where data point (u, v) is."""
    x, y = ax.transData.transform((u, v))
    return float(x), float(ax.figure.bbox.height - y)


class Cursor:
    """The voxel a learner points at: indices on the lesson's grid and mm coordinates.

    Attributes
    ----------
    ijk : tuple of 3 int
        Voxel indices on the grid of ``affine`` (the masked maps' grid).
    xyz : tuple of 3 float
        MNI mm (``affine @ ijk``).
    source : str
        How the learner got there: ``"projection"`` (a click on a maximum-intensity
        projection: the voxel whose value the picture shows at that pixel), ``"slice"``,
        ``"key"`` (arrow keys / Page Up, Page Down), ``"peak"`` (the start), ``"mm"``.
    """

    __slots__ = ("ijk", "xyz", "source")

    def __init__(self, ijk, affine, source=""):
        self.ijk = tuple(int(v) for v in ijk)
        self.xyz = tuple(float(v) for v in voxel_to_mm(affine, self.ijk))
        self.source = str(source)

    def __eq__(self, other):
        return isinstance(other, Cursor) and (self.ijk, self.xyz, self.source) == (
            other.ijk, other.xyz, other.source)

    def __hash__(self):
        return hash((self.ijk, self.xyz, self.source))

    def __repr__(self):
        x, y, z = self.xyz
        return f"Cursor(({x:g}, {y:g}, {z:g}) mm, voxel {self.ijk}, {self.source!r})"
