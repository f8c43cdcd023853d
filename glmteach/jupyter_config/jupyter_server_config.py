# Jupyter Server reads this file (JupyterHub, Binder, `glmteach lab`): give Voila's page its
# _xsrf cookie, so that closing or reloading the page shuts its kernel down (see
# glmteach/jupyter_config/__init__.py). Only Jupyter's configuration loader runs it.
from glmteach.jupyter_config import set_xsrf_cookie

c = get_config()  # noqa: F821
c.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie
