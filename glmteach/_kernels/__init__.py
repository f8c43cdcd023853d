"""Private numba kernels: arrays in, arrays out, no images, no widgets.

One module per topic: t statistics (``ttest``), sign-flip nulls (``signflip``), clusters
and TFCE (``clusters``), null worlds (``nullworld``), the GLM permutation null (``glm``) and
its screen on Intel AMX tiles where the CPU has them (``amx``); the public wrappers in
``glmteach/*.py`` validate inputs and call these. Options come from ``_jit.py``.
"""
