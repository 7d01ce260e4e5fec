"""Helpers for the browser tests: servers that always stop, and JupyterLab/Voila pages.

Everything here has a time limit. A server runs in its own process group; `stop()` ends
the group and every process it started (kernels run in sessions of their own, so they
are found by parentage and ended too), also when a test failed. Every page is offline:
a request to another host fails and is recorded (`Offline`, `assert_offline`).
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import re
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

# anywidget gives each widget model 2 s to load its JavaScript (AbortSignal.timeout(2000) in its
# front end); plotly's own FigureWidget carries a 5 MB bundle and misses that deadline on a slow
# machine. The tests keep anywidget's real deadline: course_lib's charts load plotly.js once per
# page, outside it (course_lib/widgets/figure.py), and test_slow_machine.py checks them with the
# CPU throttled 4x.
SLOW_MACHINE_RATE = 4  # Emulation.setCPUThrottlingRate: a slow laptop

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


# Class mode's own Voila template (Voila's lab template without its CDN stylesheets), as
# `make class-mode` serves it.
CLASS_MODE_DATA = REPO / "class_mode" / "jupyter_data"
CLASS_MODE_TEMPLATE = "course"


def start_voila(notebook: Path, timeout=90) -> tuple:
    """Voila serving one notebook, as `make class-mode` does; returns (server, tmp dir)."""
    tmp = Path(tempfile.mkdtemp(prefix="course-voila-"))
    try:
        (tmp / "runtime").mkdir()
        env = server_env(tmp, {"JUPYTER_PATH": os.pathsep.join(
            p for p in (str(CLASS_MODE_DATA), os.environ.get("JUPYTER_PATH", "")) if p)})

        def argv(port):
            return [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
                    "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--theme=light",
                    f"--template={CLASS_MODE_TEMPLATE}", "--VoilaConfiguration.show_tracebacks=True"]

        # Any answer means up; "/" itself would run the notebook, so ask for a static path.
        server = start_server("voila", argv, env, "/voila/static/ready", timeout=timeout)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return server, tmp


# ------------------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------------------

def is_local(url: str) -> bool:
    """A URL this machine answers itself: loopback, a file, or one made inside the page."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about", "chrome", "chrome-extension", "devtools"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")  # the only hosts a page may ask


class Offline:
    """Route every request of a context: loopback and files go through, anything else fails.

    `attempted` lists every URL of another host the pages asked for (aborted, never reached).
    """

    def __init__(self, context):
        self.attempted = []
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            self.attempted.append(url)
            route.abort("internetdisconnected")


# In every page: when the first widget appeared, and when the first chart had data (ms since load).
FIRST_CHART_TIMER_JS = """(() => {
  const t = {widget: null, chart: null};
  window.__courseFirstChart = t;
  const hasData = (p) => p.data && p.data.some(tr => ['x', 'y', 'z'].some(k => tr[k] && tr[k].length));
  const poll = () => {
    if (t.widget === null && document.querySelector('.jupyter-widgets.widget-container, .jupyter-widgets.widget-box'))
      t.widget = performance.now();
    if (t.widget !== null && t.chart === null
        && Array.from(document.querySelectorAll('.js-plotly-plot')).some(hasData)) t.chart = performance.now();
    if (t.chart === null) setTimeout(poll, 50);
  };
  poll();
})();"""


def new_context(browser):
    """A fresh browser context (own cookies and storage) with the test settings, offline.

    `context.offline.attempted`: the requests to other hosts the pages made (all failed).
    """
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(30_000)
    context.offline = Offline(context)
    context.add_init_script(FIRST_CHART_TIMER_JS)
    return context


def record_first_chart(page, what: str, rate=1):
    """Append the page's first-chart time to test-output/browser/first-chart.txt (for bench/RESULTS.md)."""
    times = page.evaluate("() => window.__courseFirstChart")
    if not times or times.get("chart") is None or times.get("widget") is None:
        return None
    cpu = f"CPU throttled {rate}x" if rate != 1 else "CPU not throttled"
    line = (f"{what}, {cpu}: first chart with data {(times['chart'] - times['widget']) / 1000:.1f} s after the "
            f"first widget appeared ({times['chart'] / 1000:.1f} s after the page started loading)\n")
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT_DIR / "first-chart.txt", "a", encoding="utf-8") as f:
        f.write(line)
    return times


def assert_offline(context, what: str):
    """No page of the context asked another host for anything (CDN, fonts, telemetry)."""
    attempted = sorted(set(context.offline.attempted))
    assert not attempted, f"{what} asked other hosts for {len(attempted)} URL(s): {attempted[:10]}"


def throttle_cpu(page, rate=SLOW_MACHINE_RATE):
    """Make the page's CPU `rate` times slower (Chromium's DevTools protocol): a slow laptop."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return cdp


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

    def widget_errors(self) -> list:
        """Errors (not warnings) that name a widget, a model or plotly."""
        return [line for line in self.lines if not line.startswith("console.warning")
                and WIDGET_CONSOLE_ERROR.search(line) and "Failed to load resource" not in line]


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

# Plotly figures in a part of the page: how many, how many have no trace with points (drawn
# empty: axes but no data), how many plotly has not drawn at all.
# A chart may be empty on purpose only if its layout says so (meta.empty, course_lib/widgets/figure.py).
# Arrays are lists, or typed arrays as plotly.py writes them for its own renderer ({dtype, bdata}).
PLOTLY_REPORT_JS = """(root) => {
  const size = (a) => !a ? 0 : (a.length !== undefined ? a.length : (a.bdata ? a.bdata.length : 0));
  const points = (t) => ['x', 'y', 'z', 'values'].reduce((n, k) => Math.max(n, size(t[k])), 0);
  const onPurpose = (p) => !!(p.layout && p.layout.meta && p.layout.meta.empty);
  const plots = Array.from((root || document).querySelectorAll('.js-plotly-plot'));
  return {total: plots.length,
          empty: plots.filter(p => !onPurpose(p) && (!p.data || !p.data.some(t => points(t) > 0))).length,
          unrendered: plots.filter(p => !p._fullLayout).length};
}"""

# What the charts under a part of the page show: every trace's values and the titles.
CHART_SIGNATURE_JS = """(root) => Array.from(root.querySelectorAll('.js-plotly-plot')).map(p => JSON.stringify([
    (p.data || []).map(t => [t.x, t.y, t.z, t.text, t.marker && t.marker.color]),
    p.layout && p.layout.title, p.layout && p.layout.shapes]))"""

# Console lines that mean a widget (or its chart) failed in the page.
# (A request that failed is not one of them: Offline records those, and the tests assert there are none.)
WIDGET_CONSOLE_ERROR = re.compile(r"anywidget|widget|plotly|course_lib|Failed to (initialize|load model|create)|model",
                                  re.I)


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

def chart_signature(locator) -> list:
    """What the charts under `locator` show (data and titles), to see that a control changed them."""
    return locator.evaluate(CHART_SIGNATURE_JS)


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
