"""JupyterHub configuration for a class on one Linux machine (`class/start.sh` starts it).

Every student logs in with the class password and gets a JupyterLab of their own (one
single-user server, one kernel per open notebook) running in the course's .venv, with a
home folder under the class folder holding their own copy of the lessons, the labelling
notebook and class mode. The preference widget saves every student's labels in the class
folder (COURSE_CLASS_DIR), where the teacher merges them and trains on them.

Settings (environment variables; class/README.md explains them):
  COURSE_CLASS_ROOT      the class folder (default class/state): students/, labels/, hub/
  COURSE_CLASS_ROSTER    the students' names, one a line (default class/roster.txt)
  COURSE_CLASS_TEACHER   the teacher's name, the hub's admin (default "teacher")
  COURSE_CLASS_PASSWORD, COURSE_CLASS_TEACHER_PASSWORD   the passwords (default: made up on
                         the first start and kept in <class folder>/hub/passwords.txt)
  COURSE_CLASS_IP, COURSE_CLASS_PORT   where the hub listens (default all addresses, 8000)
  COURSE_CLASS_SPAWNER   "simple" (default: every student's server runs as the user who
                         started the hub; no system accounts) or "system" (real Linux users,
                         the hub runs as root; see class/README.md)

Only JupyterHub's own parts: SharedPasswordAuthenticator, (Simple)LocalProcessSpawner and
configurable-http-proxy (from npm, installed into class/proxy/ by start.sh).
"""
import os
import secrets
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent  # the hub runs in the course's .venv; so do the students

c = get_config()  # noqa: F821 (provided by JupyterHub when it reads this file)


def _setting(name, default):
    return os.environ.get(name) or default


CLASS_ROOT = Path(_setting("COURSE_CLASS_ROOT", HERE / "state")).resolve()
ROSTER = Path(_setting("COURSE_CLASS_ROSTER", HERE / "roster.txt"))
TEACHER = _setting("COURSE_CLASS_TEACHER", "teacher").strip().lower()
HUB_DIR = CLASS_ROOT / "hub"  # the hub's database, cookie secret, proxy token, passwords
STUDENTS_DIR = CLASS_ROOT / "students"
LABELS_DIR = CLASS_ROOT / "labels"
for folder in (HUB_DIR, STUDENTS_DIR, LABELS_DIR):
    folder.mkdir(parents=True, exist_ok=True)
HUB_DIR.chmod(0o700)


# -- who may log in ---------------------------------------------------------------------------

def read_roster(path: Path) -> list:
    """The students' names from the roster (one a line, '#' starts a comment), checked."""
    if not path.exists():
        raise SystemExit(f"No roster at {path}: write the students' names there, one a line "
                         "(class/roster.example.txt shows the format), or set COURSE_CLASS_ROSTER.")
    names = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        name = line.split("#", 1)[0].strip().lower()
        if not name:
            continue
        if not all(ch.isalnum() or ch in "-_." for ch in name) or name[0] in "-.":
            raise SystemExit(f"{path}, line {number}: {line.strip()!r} is not a usable login name "
                             "(letters, digits, '-', '_' and '.', not starting with '-' or '.')")
        if name in names:
            raise SystemExit(f"{path}, line {number}: {name!r} is on the roster twice")
        names.append(name)
    if not names:
        raise SystemExit(f"{path} names no student")
    if TEACHER in names:
        raise SystemExit(f"{path}: the teacher {TEACHER!r} is on the roster; the teacher logs in with their "
                         "own password and is not a student")
    return names


def class_passwords() -> tuple:
    """(students' password, teacher's password): from the environment, else from
    hub/passwords.txt, made up there on the first start."""
    student, teacher = os.environ.get("COURSE_CLASS_PASSWORD"), os.environ.get("COURSE_CLASS_TEACHER_PASSWORD")
    saved = HUB_DIR / "passwords.txt"
    if saved.exists():
        kept = dict(line.split("=", 1) for line in saved.read_text().splitlines() if "=" in line)
        student, teacher = student or kept.get("students"), teacher or kept.get("teacher")
    if not student or not teacher:
        student = student or "-".join(secrets.token_hex(2) for _ in range(3))  # easy to write on a board
        teacher = teacher or secrets.token_urlsafe(32)
        saved.write_text(f"students={student}\nteacher={teacher}\n")
        saved.chmod(0o600)
    return student, teacher


STUDENTS = read_roster(ROSTER)
STUDENT_PASSWORD, TEACHER_PASSWORD = class_passwords()
print(f"Class server: {len(STUDENTS)} students on the roster ({ROSTER}); they log in with their name and the "
      f"password {STUDENT_PASSWORD}. The teacher logs in as {TEACHER!r} with the password in "
      f"{HUB_DIR / 'passwords.txt'}. Labels land in {LABELS_DIR}.", file=sys.stderr, flush=True)

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = STUDENT_PASSWORD  # 8 characters or more
c.SharedPasswordAuthenticator.admin_password = TEACHER_PASSWORD  # 32 characters or more
c.Authenticator.allowed_users = set(STUDENTS)
c.Authenticator.admin_users = {TEACHER}

# -- the hub and its proxy ----------------------------------------------------------------------

c.JupyterHub.ip = os.environ.get("COURSE_CLASS_IP", "")
c.JupyterHub.port = int(_setting("COURSE_CLASS_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(HUB_DIR / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [str(HERE / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every student's server
# Thirty students logging in at once start thirty servers; let them queue rather than fail.
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.active_server_limit = 0

# -- every student's server -------------------------------------------------------------------

SPAWNER = _setting("COURSE_CLASS_SPAWNER", "simple")
if SPAWNER == "simple":
    # One OS user for the whole class (the one who ran start.sh): no accounts to create, no
    # isolation between students (each could read another's files). Fine for a classroom of
    # trusted students on a machine set aside for the lesson; see class/README.md otherwise.
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(STUDENTS_DIR / "{username}")
elif SPAWNER == "system":
    # Real Linux users (create them first: class/README.md); the hub must run as root.
    c.JupyterHub.spawner_class = "localprocess"
    c.LocalProcessSpawner.create_system_users = False
else:
    raise SystemExit(f"COURSE_CLASS_SPAWNER is {SPAWNER!r}; use 'simple' or 'system'")

c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"  # the file browser: lessons/, class_labels.ipynb, class_mode.ipynb
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 300  # a busy machine starting many servers at once
c.Spawner.http_timeout = 300
c.Spawner.environment = {
    "COURSE_CLASS_DIR": str(CLASS_ROOT),  # the preference widget saves to labels/<student>.jsonl here
    # class mode's Voila template, for the "Render with Voila" button on class_mode.ipynb
    "JUPYTER_PATH": os.pathsep.join(p for p in (str(REPO / "class_mode" / "jupyter_data"),
                                                os.environ.get("JUPYTER_PATH", "")) if p),
    "PYTHONPATH": str(REPO),  # course_lib from this checkout, installed with pip -e or not
    "MPLBACKEND": "Agg",
    "OMP_WAIT_POLICY": "PASSIVE",  # idle torch threads sleep, so students' kernels do not starve each other
    "OMP_NUM_THREADS": _setting("COURSE_CLASS_THREADS", "1"),  # a student's kernel uses one core at most
}
c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL", "COURSE_FAST", "COURSE_DATA_DIR"]
# LocalProcessSpawner does not enforce mem_limit or cpu_limit (it only passes them on as MEM_LIMIT and
# CPU_LIMIT); The Littlest JupyterHub (systemd) and Zero to JupyterHub (Kubernetes) do.
c.Spawner.args = [
    "--MappingKernelManager.cull_idle_timeout=3600",  # a kernel idle for an hour is stopped
    "--MappingKernelManager.cull_interval=300",
    "--LabApp.news_url=None",  # no news pop-up, no update check, no PyPI look-ups in class
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    f"--LabApp.app_settings_dir={HERE / 'lab_settings'}",  # overrides.json: no news question either
    "--VoilaConfiguration.template=course",  # class mode as `make class-mode` serves it (nothing from a CDN)
    "--VoilaConfiguration.theme=light",
    "--ServerApp.tornado_settings=mathjax_url=",  # Voila inside the server: no MathJax from a CDN (none needed)
]
if os.geteuid() == 0 and SPAWNER == "simple":
    c.Spawner.args.append("--allow-root")  # containers often run everything as root


def copy_course(spawner):
    """On a student's first start: their own copy of the lessons, the labelling notebook and
    class mode in their home folder (later starts keep what they changed)."""
    if SPAWNER == "simple":
        home = Path(spawner.home_dir)
    else:
        home = Path(os.path.expanduser(f"~{spawner.user.name}"))
    home.mkdir(parents=True, exist_ok=True)
    student_edition = REPO / "dist" / "student"  # scripts/make_editions.py, when it has been run
    lessons = student_edition if (student_edition / "00_prediction_machine.ipynb").exists() else REPO / "notebooks"
    new = []
    if not (home / "lessons").exists():
        shutil.copytree(lessons, home / "lessons", ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "runs", "__pycache__"))
        new.append(home / "lessons")
    for source in (HERE / "class_labels.ipynb", REPO / "class_mode" / "class_mode.ipynb"):
        if not (home / source.name).exists():
            shutil.copy(source, home / source.name)
            new.append(home / source.name)
    if SPAWNER == "system":  # the student owns their copy
        for top in new:
            for path in [top, *(top.rglob("*") if top.is_dir() else [])]:
                shutil.chown(path, spawner.user.name)


c.Spawner.pre_spawn_hook = copy_course

# -- your own settings --------------------------------------------------------------------------
# COURSE_CLASS_EXTRA_CONFIG: a JupyterHub config file read last (it can change anything above;
# the load test uses one for its ports).
if os.environ.get("COURSE_CLASS_EXTRA_CONFIG"):
    load_subconfig(os.environ["COURSE_CLASS_EXTRA_CONFIG"])  # noqa: F821 (provided by JupyterHub)
