"""Private numba kernels: arrays in, arrays out, no images, no widgets.

One module per topic (t statistics, sign-flip nulls, clusters and TFCE); the public
wrappers in ``glmteach/*.py`` validate inputs and call these. Options come from ``_jit.py``.
"""
