"""Test-only Jupyter config for the browser tests (never the learner's config).

tests/browser/browser_helpers.py copies this folder (with labconfig/page_config.json and the
JupyterLab settings in lab/user-settings/) to a temporary folder, points JUPYTER_CONFIG_DIR
there and starts JupyterLab with the port in COURSE_TEST_PORT. Loopback only, no token: the
server lives for one test session and the fixtures stop it, also when a test fails.
"""
import os

c = get_config()  # noqa: F821 (provided by Jupyter when it reads this file)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("COURSE_TEST_PORT", "8899"))
c.ServerApp.port_retries = 0  # a taken port is an error, the fixture picks another
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True  # CI containers run as root
c.IdentityProvider.token = ""
c.PasswordIdentityProvider.hashed_password = ""
c.ServerApp.allow_remote_access = False
c.ServerApp.terminals_enabled = False
c.ServerApp.shutdown_no_activity_timeout = 15 * 60  # a leaked server stops by itself
c.MappingKernelManager.cull_idle_timeout = 15 * 60

# Checkpoints (made when a notebook is opened) go to the test's temporary folder, not next to the lessons.
if os.environ.get("COURSE_TEST_CHECKPOINTS"):
    c.FileCheckpoints.root_dir = os.environ["COURSE_TEST_CHECKPOINTS"]

# JupyterLab: let the tests reach the app object (window.jupyterapp), never phone home.
c.LabApp.expose_app_in_browser = True
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"  # no look-ups on PyPI
if os.environ.get("COURSE_TEST_LAB_SETTINGS"):
    c.LabApp.user_settings_dir = os.environ["COURSE_TEST_LAB_SETTINGS"]
if os.environ.get("COURSE_TEST_LAB_WORKSPACES"):
    c.LabApp.workspaces_dir = os.environ["COURSE_TEST_LAB_WORKSPACES"]
