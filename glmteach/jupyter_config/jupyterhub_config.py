# JupyterHub configuration for a class using glmteach: the one benchmarks/bench_classroom.py
# runs (so it is tested), and the starting point of INSTRUCTORS.md's "Deployment" section.
#
#   jupyterhub -f jupyterhub_config.py     (settings below come from GLMTEACH_HUB_* variables)
#
# For a real class, copy this file and replace the two marked parts: the authenticator
# (the load test's dummy one lets anybody in with the shared password) and, for more than
# one machine, the spawner (Kubernetes: see INSTRUCTORS.md). Everything listens on
# 127.0.0.1 until you put the hub behind your HTTPS front end.
import os
import sys

from glmteach.jupyter_config import CONFIG_DIR

c = get_config()  # noqa: F821  (defined by JupyterHub when it reads this file)
setting = os.environ.get
state_dir = setting("GLMTEACH_HUB_DIR", os.getcwd())

# --- network: loopback only ---------------------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{setting('GLMTEACH_HUB_PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{setting('GLMTEACH_HUB_API_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = \
    f"http://127.0.0.1:{setting('GLMTEACH_PROXY_API_PORT', '8001')}"
if setting("GLMTEACH_CHP"):  # configurable-http-proxy from npm, if not on PATH
    c.ConfigurableHTTPProxy.command = [setting("GLMTEACH_CHP")]

# --- the hub's own state ------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{os.path.join(state_dir, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(state_dir, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state_dir, "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server
c.JupyterHub.cleanup_proxy = True

# --- who may log in: REPLACE for a real class (e.g. OAuthenticator, LTI, NativeAuthenticator)
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = setting("GLMTEACH_HUB_PASSWORD")
c.Authenticator.allow_all = True
if setting("GLMTEACH_HUB_API_TOKEN"):  # the load test's own admin client
    c.JupyterHub.services = [{"name": "classroom-bench",
                              "api_token": setting("GLMTEACH_HUB_API_TOKEN")}]
    c.JupyterHub.load_roles = [{"name": "classroom-bench", "services": ["classroom-bench"],
                                "scopes": ["admin:users", "admin:servers", "list:users",
                                           "read:users"]}]

# --- each learner's server: a local process (REPLACE by KubeSpawner or SystemdSpawner to
# enforce the limits below; LocalProcessSpawner only passes them on as CPU_LIMIT/MEM_LIMIT)
c.JupyterHub.spawner_class = "simple"  # SimpleLocalProcessSpawner: as the hub's own user
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(
    setting("GLMTEACH_HUB_HOMES", os.path.join(state_dir, "homes")), "{username}")
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = []
if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers: Jupyter refuses root otherwise
    c.Spawner.args.append("--ServerApp.allow_root=True")
if setting("GLMTEACH_HUB_CULL_IDLE_TIMEOUT"):  # e.g. a short one in a test
    c.Spawner.args += [
        f"--MappingKernelManager.cull_idle_timeout={setting('GLMTEACH_HUB_CULL_IDLE_TIMEOUT')}",
        f"--MappingKernelManager.cull_interval={setting('GLMTEACH_HUB_CULL_INTERVAL', '5')}"]
if setting("GLMTEACH_NOTEBOOKS"):
    c.Spawner.notebook_dir = setting("GLMTEACH_NOTEBOOKS")
c.Spawner.default_url = setting("GLMTEACH_HUB_DEFAULT_URL", "/voila/render/app.ipynb")
c.Spawner.start_timeout = 300  # a whole class starting at once on a small machine
c.Spawner.http_timeout = 300
# Per learner, from the load test (INSTRUCTORS.md, "Deployment"): one core's worth of numba
# threads (glmteach reads CPU_LIMIT) and the memory a learner's server + kernel needs.
c.Spawner.cpu_limit = float(setting("GLMTEACH_HUB_CPU_LIMIT", "1"))
c.Spawner.mem_limit = setting("GLMTEACH_HUB_MEM_LIMIT", "1G")
c.Spawner.environment = {
    # idle-kernel culling for Jupyter Server, JupyterLab and Voila (a reloaded Voila page
    # leaves its kernel behind: culled after 10 idle minutes; see jupyter_config/)
    "JUPYTER_CONFIG_PATH": str(CONFIG_DIR),
}
for name in ("NILEARN_DATA", "NILEARN_SHARED_DATA", "NUMBA_CACHE_DIR", "MPLCONFIGDIR",
             "GLMTEACH_OFFLINE", "GLMTEACH_NUM_THREADS", "PATH"):
    if setting(name):
        c.Spawner.environment[name] = setting(name)
