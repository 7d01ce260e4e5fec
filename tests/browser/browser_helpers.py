"""Helpers for the browser tests: servers that always stop, and JupyterLab/Voila pages.

Everything here has a time limit. A server runs in its own process group; `stop()` ends
the group and every process it started (kernels run in sessions of their own, so they
are found by parentage and ended too), also when a test failed.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
JUPYTER_CONFIG = HERE / "jupyter_config"
OUTPUT_DIR = REPO / "test-output" / "browser"

RUN_TIMEOUT_MS = 300_000  # all cells of one notebook, on a slow 2-core CI machine
DRAW_TIMEOUT_S = 60  # a widget's chart appearing after its cell ran

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
VIEWPORT = {"width": 1400, "height": 1400}

# anywidget (which plotly's FigureWidget is built on) gives each widget model 2 s to load its
# JavaScript; after that deadline every message from Python to that model is dropped, so the
# chart stays empty and never updates. Plotly's widget code is 5 MB, evaluated once per figure:
# on a busy 2-core machine that takes longer than 2 s (measured on ours: 5-7 s per figure).
# The tests stretch that one deadline so they check the course, not the CI machine's speed;
# test_jupyterlab.py::test_plotly_widget_code_loads_within_anywidgets_deadline measures the
# real margin and warns. COURSE_BROWSER_STRICT_ANYWIDGET=1 keeps anywidget's 2 s.
ANYWIDGET_DEADLINE_MS = 2000
STRETCH_ANYWIDGET_DEADLINE_JS = """(() => {
  const timeout = AbortSignal.timeout.bind(AbortSignal);
  AbortSignal.timeout = (ms) => timeout(ms === %d ? 120000 : ms);
})();""" % ANYWIDGET_DEADLINE_MS

# Output mime types and texts that mean "this output is broken" in the page.
WIDGET_ERROR_TEXTS = ("Error displaying widget", "Error rendering widget", "Failed to load model class",
                      "Failed to create view for")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list:
    try:
        import psutil
    except ImportError:  # psutil comes with ipykernel; without it only the group is stopped
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


class Server:
    """A server process (JupyterLab or Voila) on 127.0.0.1:port, in its own process group."""

    def __init__(self, name: str, argv: list, port: int, env: dict, ready_path: str, cwd=REPO):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = OUTPUT_DIR / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def log_tail(self, n=3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} before it was ready:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # it answers (a 404 for a path that runs nothing is fine)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} did not answer on {self.url}{self.ready_path} within {timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def stop(self, grace: float = 10.0):
        """SIGTERM the group (the server shuts its kernels down), then SIGKILL what is left."""
        if self.proc.poll() is None:
            children = _descendants(self.proc.pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            for child in children:  # kernels: own session, so not in the group
                with contextlib.suppress(Exception):
                    child.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        self._log.close()


def start_server(name, argv_for_port, env, ready_path, timeout=90, tries=3) -> Server:
    """Start a server on a free port; a port taken in between is retried with another."""
    last = None
    for _ in range(tries):
        port = free_port()
        server = Server(name, argv_for_port(port), port, dict(env, COURSE_TEST_PORT=str(port)), ready_path)
        try:
            server.wait_ready(timeout)
            return server
        except BaseException as e:
            server.stop()
            last = e
            if "address already in use" not in server.log_tail().lower():
                raise
    raise last


def server_env(tmp: Path, extra=None) -> dict:
    """The environment of a test server: a copy of the test-only Jupyter config in `tmp` (Jupyter
    writes into its config folder; the repository's copy stays as committed), lessons in fast mode."""
    config = tmp / "jupyter_config"
    shutil.copytree(JUPYTER_CONFIG, config, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "COURSE_FAST": "1",
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("JUPYTER_TOKEN", None)
    # Kernels import course_lib from this checkout, installed (pip install -e .) or not.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def start_jupyterlab(timeout=120) -> tuple:
    """JupyterLab on the repository root with the test-only config; returns (server, tmp dir)."""
    tmp = Path(tempfile.mkdtemp(prefix="course-lab-"))
    try:
        for folder in ("runtime", "workspaces", "checkpoints"):
            (tmp / folder).mkdir()
        env = server_env(tmp, {
            "COURSE_TEST_CHECKPOINTS": str(tmp / "checkpoints"),
            "COURSE_TEST_LAB_SETTINGS": str(tmp / "jupyter_config" / "lab" / "user-settings"),
            "COURSE_TEST_LAB_WORKSPACES": str(tmp / "workspaces"),
        })

        def argv(port):
            return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={REPO}", f"--ServerApp.port={port}"]

        server = start_server("jupyterlab", argv, env, "/api/status", timeout=timeout)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return server, tmp


def start_voila(notebook: Path, timeout=90) -> tuple:
    """Voila serving one notebook, as `make class-mode` does; returns (server, tmp dir)."""
    tmp = Path(tempfile.mkdtemp(prefix="course-voila-"))
    try:
        (tmp / "runtime").mkdir()
        env = server_env(tmp)

        def argv(port):
            return [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
                    "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--theme=light",
                    "--VoilaConfiguration.show_tracebacks=True"]

        # Any answer means up; "/" itself would run the notebook, so ask for a static path.
        server = start_server("voila", argv, env, "/voila/static/ready", timeout=timeout)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return server, tmp


# ------------------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------------------

def new_context(browser):
    """A fresh browser context (own cookies and storage) with the test settings."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(30_000)
    if not os.environ.get("COURSE_BROWSER_STRICT_ANYWIDGET"):
        context.add_init_script(STRETCH_ANYWIDGET_DEADLINE_JS)
    return context


def screenshot(page_or_locator, name: str) -> Path:
    """Save a PNG under test-output/browser/ (never raises: a failing test keeps its own error)."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    with contextlib.suppress(Exception):
        page_or_locator.screenshot(path=str(path), timeout=15_000)
    return path


@contextlib.contextmanager
def shot_on_failure(page, name: str):
    """On any failure inside the block: a screenshot named `name-FAILED`, then the error."""
    try:
        yield
    except BaseException:
        screenshot(page, f"{name}-FAILED")
        raise


class ConsoleLog:
    """The page's console errors and uncaught exceptions, for failure messages."""

    def __init__(self, page):
        self.lines = []
        page.on("console", lambda m: self.lines.append(f"console.{m.type}: {m.text[:500]}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.lines.append(f"pageerror: {str(e)[:500]}"))

    def tail(self, n=25) -> str:
        return "\n".join(self.lines[-n:])


# -- JupyterLab ------------------------------------------------------------------------------

LAB_READY_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  return !!(w && w.content && w.content.widgets && w.sessionContext && w.context && w.context.isReady);
}"""

KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
}"""

RUN_ALL_JS = """() => {
  const app = window.jupyterapp;
  window.__courseRun = {done: false, ok: null, error: null};
  app.commands.execute('notebook:run-all-cells').then(
    ok => { window.__courseRun.done = true; window.__courseRun.ok = ok; },
    e => { window.__courseRun.done = true; window.__courseRun.ok = false; window.__courseRun.error = String(e); });
}"""

# Every code cell's outputs as the notebook model holds them, plus its execution count.
CELL_REPORT_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const out = [];
  nb.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    out.push({
      index: i,
      source: cell.model.sharedModel.getSource().slice(0, 200),
      execution_count: cell.model.executionCount,
      tags: (cell.model.getMetadata('tags') || []),
      errors: outputs.filter(o => o.output_type === 'error')
                     .map(o => o.ename + ': ' + o.evalue + '\\n' + (o.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, '').slice(-1500)),
      stderr: outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr')
                     .map(o => (Array.isArray(o.text) ? o.text.join('') : o.text).slice(0, 500)),
      widget_errors: Array.from(cell.node.querySelectorAll('.jp-OutputArea-output'))
                     .map(e => e.innerText).filter(t => %s.some(s => t.includes(s))).map(t => t.slice(0, 300)),
    });
  });
  return out;
}""" % (list(WIDGET_ERROR_TEXTS),)

# Plotly figures in a part of the page: how many, how many have no traces (drawn empty).
PLOTLY_REPORT_JS = """(root) => {
  const plots = Array.from((root || document).querySelectorAll('.js-plotly-plot'));
  return {total: plots.length,
          empty: plots.filter(p => !p.data || p.data.length === 0).length,
          unrendered: plots.filter(p => !p._fullLayout).length};
}"""


def open_in_lab(page, base_url: str, path: str, timeout_ms=120_000):
    """Open a notebook (path relative to the repository) in JupyterLab; wait for an idle kernel."""
    # ?reset: start from an empty workspace, so notebooks an earlier test opened do not reopen.
    page.goto(f"{base_url}/lab/tree/{path}?reset", timeout=timeout_ms)
    page.wait_for_function(LAB_READY_JS, timeout=timeout_ms)
    with contextlib.suppress(Exception):  # more room for the notebook; not essential
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout_ms)


def run_all_cells(page, timeout_ms: int) -> list:
    """Run every cell, wait until they have all run and the kernel is idle; return the cell report."""
    page.evaluate(RUN_ALL_JS)
    page.wait_for_function("() => window.__courseRun && window.__courseRun.done", timeout=timeout_ms,
                           polling=500)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000, polling=500)
    return page.evaluate(CELL_REPORT_JS)


def cell_problems(report: list) -> list:
    """Readable problems of a cell report: errors, widgets that failed, cells that never ran."""
    problems = []
    for cell in report:
        where = f"cell {cell['index']} ({cell['source'][:60]!r})"
        if "raises-exception" in cell["tags"]:
            continue
        for e in cell["errors"]:
            problems.append(f"{where} raised {e}")
        for e in cell["widget_errors"]:
            problems.append(f"{where} shows a broken widget: {e}")
        if cell["execution_count"] is None and cell["source"].strip():
            problems.append(f"{where} did not run")
    return problems


def close_notebook(page):
    """Shut the kernel down and close the notebook without saving (no dialogs)."""
    with contextlib.suppress(Exception):
        page.evaluate("""async () => {
          const w = window.jupyterapp.shell.currentWidget;
          if (!w) return;
          try { await w.sessionContext.shutdown(); } catch (e) {}
          w.context.model.dirty = false;
          w.dispose();
        }""")


# -- ipywidgets controls ----------------------------------------------------------------------

def bar_signature(locator) -> list:
    """What the bar chart(s) under `locator` show on screen: each bar's outline and its label."""
    return locator.evaluate("""(root) => Array.from(root.querySelectorAll('.barlayer .point')).map(p => {
        const path = p.querySelector('path');
        return (path ? path.getAttribute('d') : '') + '|' + p.textContent;
      })""")


def set_slider_by_readout(slider, value: str):
    """Type a value into an ipywidgets slider's readout (as a user can) and press Enter."""
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+A")
    readout.type(value)
    readout.press("Enter")


def wait_until_changed(page, read, before, timeout_s: float, what: str):
    """Poll read() until it differs from `before` (and is non-empty); return the new value."""
    deadline = time.monotonic() + timeout_s
    now = read()
    while time.monotonic() < deadline:
        now = read()
        if now and now != before:
            return now
        page.wait_for_timeout(250)
    raise AssertionError(f"{what} did not change within {timeout_s:.0f} s (still {str(now)[:300]})")


def wait_until(page, check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        page.wait_for_timeout(250)
    raise AssertionError(f"{what} (waited {timeout_s:.0f} s)")


def wait_for_charts(page, what, timeout_s=DRAW_TIMEOUT_S):
    """Wait until every plotly chart on the page has data and their number stays the same for 2 s."""
    seen = []

    def settled():
        report = page.evaluate(PLOTLY_REPORT_JS)
        seen.append(report)
        stable = len(seen) >= 9 and all(r == report for r in seen[-9:])  # 9 polls, 250 ms apart
        return report if stable and not report["empty"] and not report["unrendered"] else None

    try:
        return wait_until(page, settled, timeout_s, "charts to be drawn")
    except AssertionError:
        raise AssertionError(f"{what}: not every chart was drawn with data: {seen[-1] if seen else None} "
                             "(total charts, empty = drawn without data, unrendered)") from None
