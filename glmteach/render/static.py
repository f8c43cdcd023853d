"""nilearn figures for static reports (slow, full quality)."""

from .. import palette


def static_glass_brain(img, threshold=None, title=None, output_file=None, vmax=None,
                       display_mode="ortho", colorbar=True, **kwargs):
    """nilearn's ``plot_glass_brain`` with this package's conventions (for static reports).

    Signed (``plot_abs=False``), the palette's signed colour map. Slow (~0.4 s): not for
    live panels.

    Parameters
    ----------
    img : Nifti1Image or str
    threshold, vmax : float, optional
    title : str, optional
    output_file : str or Path, optional
        Save there (PNG/SVG/PDF by suffix) and close; else return the display.
    """
    from nilearn import plotting

    kwargs.setdefault("cmap", palette.signed_cmap())
    return plotting.plot_glass_brain(
        img, threshold=threshold, title=title, output_file=output_file, vmax=vmax,
        display_mode=display_mode, colorbar=colorbar, plot_abs=False, **kwargs,
    )
