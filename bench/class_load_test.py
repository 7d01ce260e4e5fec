"""Load test of the class server (class/): N students at once, each in a browser context of their own.

    .venv/bin/python bench/class_load_test.py                  # 3 students
    .venv/bin/python bench/class_load_test.py --students 3 6   # one run each: how many the machine holds

Starts the hub with the documented command (class/start.sh, on free ports, in a temporary
class folder), then for every student, each in their own headless-Chromium context: logs in,
opens lesson 00 in their JupyterLab and runs all its cells, opens the class's labelling
notebook and labels 10 pairs with the preference widget's buttons; the first student then
opens class mode from their own server. The students act at the same time: everyone's cells
are started before anyone's are waited for, and in each of the 10 rounds every student clicks
before any click is waited for (a harsher burst than a real class). Then it checks that every label arrived exactly once, from the right student, as the
pair and the choice on that student's screen; merges the class's labels
(`python -m course_lib.rlhf.classroom merge`) and trains on them (`... train`, tiny settings).

Measured: per student, the peak memory of their single-user server and kernels (RSS, and PSS,
which splits shared pages fairly) and their CPU seconds; the wait from a click to the next
pair on screen; the time to gather the labels and to train. Results: test-output/class/load-N.json.
tests/browser/test_class_hub.py runs this with 3 students.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from browser_helpers import (  # noqa: E402 (after the path is set)
    CHROMIUM, CHROMIUM_ARGS, JUPYTER_CONFIG, KERNEL_IDLE_JS, RUN_ALL_JS, CELL_REPORT_JS,
    ConsoleLog, assert_offline, cell_problems, new_context, open_in_lab, screenshot, start_server,
)

OUT_DIR = REPO / "test-output" / "class"
START = REPO / "class" / "start.sh"
LESSON = "lessons/00_prediction_machine.ipynb"
LABELLING = "class_labels.ipynb"
PASSWORD = "class-load-test"
LABELS_EACH = 10
CHOICES = ("a", "b", "tie")  # in turn: every kind of label the widget saves
BUTTONS = {"a": "A is better", "b": "B is better", "tie": "Tie"}
SPAWN_TIMEOUT_MS = 300_000
RUN_TIMEOUT_MS = 600_000  # all of a lesson's cells, every student's kernel on the same 2 cores
CLICK_TIMEOUT_S = 300  # one round of clicks: every student's next pair drawn
TRAIN_FLAGS = ["--rm-steps", "4", "--steps", "4", "--prompts", "2"]  # tiny: it trains, quickly

# The test's own hub settings, read after class/jupyterhub_config.py: free ports for the hub's
# API and the proxy's, and the test-only JupyterLab settings (every cell kept in the page,
# no autosave, the app reachable as window.jupyterapp).
EXTRA_CONFIG = '''
import os, socket
def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
c.JupyterHub.port = int(os.environ["COURSE_TEST_PORT"])
c.JupyterHub.hub_port = _port()
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_port()}"
c.Spawner.args.extend([  # added to the recipe's own
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.user_settings_dir=" + os.environ["COURSE_TEST_LAB_SETTINGS"],
])
'''

# The preference widget on the page: the pair shown (prompt, answers A and B) and the count line.
PAIR_JS = """() => {
  const button = Array.from(document.querySelectorAll('button')).find(b => b.textContent.trim() === 'A is better');
  if (!button) return null;
  const box = button.closest('.widget-vbox');
  const htmls = Array.from(box.querySelectorAll(':scope > .widget-html'));
  const answers = box.querySelectorAll(':scope > .widget-hbox')[0].querySelectorAll('.widget-html');
  return {prompt: htmls[0].innerText, a: answers[0].innerText, b: answers[1].innerText,
          count: htmls.map(h => h.innerText).find(t => / saved in /.test(t)) || '',
          message: htmls.map(h => h.innerText).filter(t => /could not|error/i.test(t)).join(' ')};
}"""


def label_choices() -> list:
    """What every student clicks, in order: A, B and Tie in turn, LABELS_EACH times."""
    return [CHOICES[i % len(CHOICES)] for i in range(LABELS_EACH)]


def words(text: str) -> str:
    """Text as the page shows it: whitespace runs become one space (HTML folds them)."""
    return " ".join(str(text).split())


def shown_pair(page) -> dict:
    """The pair on a student's screen, in the words of the saved records."""
    raw = page.evaluate(PAIR_JS)
    if raw is None:
        raise AssertionError("no preference widget on the page")

    def answer(text, letter):
        text = words(text)
        text = text[len(letter) + 1:].strip() if text.startswith(letter + ":") else text
        return "" if text == "(empty answer)" else text

    prompt = words(raw["prompt"])
    return {"prompt": prompt[len("Prompt:"):].strip() if prompt.startswith("Prompt:") else prompt,
            "a": answer(raw["a"], "A"), "b": answer(raw["b"], "B"), "count": raw["count"],
            "message": raw["message"]}


def saved_count(page) -> int:
    count = shown_pair(page)["count"]
    return int(count.split()[0]) if count[:1].isdigit() else 0


# -- the processes of each student ------------------------------------------------------------

class Meter:
    """Samples every second the memory and CPU of each student's server and kernels (the
    process tree of the single-user server whose JUPYTERHUB_USER names the student)."""

    def __init__(self, hub_pid: int, students: list):
        import psutil

        self.psutil = psutil
        self.hub_pid = hub_pid
        self.students = students
        self.peak = {s: {"rss": 0, "pss": 0, "processes": 0} for s in students}
        self.cpu = {s: 0.0 for s in students}
        self.hub_peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def trees(self) -> dict:
        """{student: [processes]} (their server first), and the hub's own processes under None."""
        ps = self.psutil
        found = {None: []}
        try:
            hub = ps.Process(self.hub_pid)
            found[None].append(hub)
            children = hub.children()
        except ps.Error:
            return found
        for child in children:
            try:
                user = child.environ().get("JUPYTERHUB_USER")
            except ps.Error:
                continue
            if user in self.peak:
                try:
                    found[user] = [child, *child.children(recursive=True)]
                except ps.Error:
                    pass
            else:
                found[None].append(child)  # the proxy
        return found

    def sample(self):
        for user, procs in self.trees().items():
            rss = pss = cpu = 0
            alive = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                    times = p.cpu_times()
                except self.psutil.Error:
                    continue
                alive += 1
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
                cpu += times.user + times.system + times.children_user + times.children_system
            if user is None:
                self.hub_peak_rss = max(self.hub_peak_rss, rss)
                continue
            peak = self.peak[user]
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            peak["processes"] = max(peak["processes"], alive)
            self.cpu[user] = max(self.cpu[user], cpu)  # CPU seconds so far (kernels included)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(1.0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self.sample()


# -- the class server -------------------------------------------------------------------------

def install():
    """What the recipe needs (JupyterHub into .venv, the proxy from npm): class/start.sh --install."""
    subprocess.run(["bash", str(START), "--install"], cwd=REPO, check=True, timeout=600,
                   stdout=subprocess.DEVNULL)


def start_hub(tmp: Path, students: list):
    """The hub, started with the documented command, on free ports; class folder in `tmp`."""
    roster = tmp / "roster.txt"
    roster.write_text("\n".join(students) + "\n")
    settings = tmp / "lab-settings"
    import shutil

    shutil.copytree(JUPYTER_CONFIG / "lab" / "user-settings", settings)
    extra = tmp / "test_config.py"
    extra.write_text(EXTRA_CONFIG)
    env = dict(os.environ)
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERHUB_API_TOKEN", "JUPYTER_TOKEN"):
        env.pop(key, None)
    env.update({
        "COURSE_CLASS_ROOT": str(tmp / "state"), "COURSE_CLASS_ROSTER": str(roster),
        "COURSE_CLASS_IP": "127.0.0.1", "COURSE_CLASS_PASSWORD": PASSWORD,
        "COURSE_CLASS_TEACHER_PASSWORD": "t" * 32, "COURSE_CLASS_EXTRA_CONFIG": str(extra),
        "COURSE_TEST_LAB_SETTINGS": str(settings), "COURSE_FAST": "1",
    })
    hub = start_server("class-hub", lambda port: ["bash", str(START)], env, "/hub/api", timeout=180)
    try:
        wait_for_hub(hub)
    except BaseException:
        hub.stop()
        raise
    return hub


def wait_for_hub(hub, timeout=120):
    """Until the hub itself answers through the proxy (its API's 200). start_server counts any
    answer as up, and the proxy answers 503 before the hub has added its route."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(hub.url + "/hub/api", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if hub.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the hub did not answer on {hub.url}/hub/api:\n{hub.log_tail()}")
        time.sleep(0.3)


def log_in(page, hub_url: str, student: str, shot=None):
    page.goto(f"{hub_url}/hub/login", timeout=120_000)
    page.fill("#username_input", student)
    page.fill("#password_input", PASSWORD)
    if shot:
        screenshot(page, shot)
    # The hub answers the login only once the server has started or 10 s passed (then a
    # "starting" page); on a busy machine that is more than Playwright's 30 s for a click.
    page.click("#login_submit", timeout=120_000, no_wait_after=True)


# Run the cells above the n-th code cell (the first n-1 code cells and the text around them),
# tracked like browser_helpers' RUN_ALL_JS.
RUN_FIRST_JS = """(n) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  const code = nb.widgets.map((c, i) => [c, i]).filter(([c]) => c.model.type === 'code');
  nb.activeCellIndex = n < code.length ? code[n][1] : nb.widgets.length - 1;
  const command = n < code.length ? 'notebook:run-all-above' : 'notebook:run-all-cells';
  window.__courseRun = {done: false, ok: null, error: null};
  app.commands.execute(command).then(
    ok => { window.__courseRun.done = true; window.__courseRun.ok = ok; },
    e => { window.__courseRun.done = true; window.__courseRun.ok = false; window.__courseRun.error = String(e); });
}"""


def run_all_started(page, code_cells=None):
    """Start running the notebook's cells: all, or the first `code_cells` code cells."""
    if code_cells is None:
        page.evaluate(RUN_ALL_JS)
    else:
        page.evaluate(RUN_FIRST_JS, code_cells)


def run_all_finished(page) -> list:
    page.wait_for_function("() => window.__courseRun && window.__courseRun.done", timeout=RUN_TIMEOUT_MS,
                           polling=500)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=120_000, polling=500)
    return page.evaluate(CELL_REPORT_JS)


def run_notebook_everywhere(pages: dict, hub_url: str, path: str, code_cells=None) -> tuple:
    """Open `path` in every student's JupyterLab, run its cells (all, or the first `code_cells`
    code cells) in every one at once; (seconds, problems)."""
    for student, page in pages.items():
        open_in_lab(page, f"{hub_url}/user/{student}", path, timeout_ms=SPAWN_TIMEOUT_MS)
    t0 = time.monotonic()
    if code_cells == 0:  # opened, its kernel started and idle: nothing to run
        return 0.0, []
    for page in pages.values():
        run_all_started(page, code_cells)
    problems = []
    for student, page in pages.items():
        report = run_all_finished(page)
        if code_cells is not None:
            report = report[:code_cells]
        problems += [f"{student}, {path}: {p}" for p in cell_problems(report)]
    return time.monotonic() - t0, problems


def label_everywhere(pages: dict, n: int) -> tuple:
    """n rounds: every student clicks (A, B, Tie in turn), then every student's next pair is
    awaited. Returns ({student: [what was labelled]}, [seconds from a click to the next pair])."""
    done = {s: [] for s in pages}
    waits = []
    for i, choice in enumerate(label_choices()[:n]):
        clicked = {}
        for student, page in pages.items():
            pair = shown_pair(page)
            if pair["message"]:
                raise AssertionError(f"{student}'s widget says: {pair['message']}")
            page.get_by_role("button", name=BUTTONS[choice], exact=True).click()
            clicked[student] = time.monotonic()
            done[student].append({**pair, "choice": choice})
        deadline = time.monotonic() + CLICK_TIMEOUT_S
        waiting = dict(clicked)
        while waiting:
            for student in list(waiting):
                if saved_count(pages[student]) >= i + 1:
                    waits.append(time.monotonic() - waiting.pop(student))
            if time.monotonic() > deadline:
                raise AssertionError(f"round {i + 1}: no next pair after {CLICK_TIMEOUT_S} s for {sorted(waiting)}")
            time.sleep(0.1)
    return done, waits


def check_labels(class_dir: Path, labelled: dict) -> list:
    """Every label a student clicked is in labels/<student>.jsonl exactly once, as shown on their
    screen, with their name; nothing else is there."""
    problems = []
    for student, clicks in labelled.items():
        path = class_dir / "labels" / f"{student}.jsonl"
        if not path.exists():
            problems.append(f"{student}: no {path}")
            continue
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        saved = [(words(r["prompt"]), words(r["chosen"]), words(r["rejected"]), bool(r.get("tie")),
                  r.get("labeller")) for r in lines]
        for click in clicks:
            first, second = (click["b"], click["a"]) if click["choice"] == "b" else (click["a"], click["b"])
            want = (click["prompt"], first, second, click["choice"] == "tie", student)
            found = saved.count(want)
            if found != 1:
                problems.append(f"{student}: the label {want} is saved {found} times, not once")
        if len(saved) != len(clicks):
            problems.append(f"{student}: {len(saved)} labels saved for {len(clicks)} clicks")
    return problems


def run_command(*args) -> tuple:
    """(seconds, parsed JSON output) of `python -m course_lib.rlhf.classroom ARGS --json`."""
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "course_lib.rlhf.classroom", *args, "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    seconds = time.monotonic() - t0
    if done.returncode != 0:
        raise AssertionError(f"classroom {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)


def run_class(browser, n_students: int = 3, shots: bool = True, train: bool = True, lesson_cells=None,
              labels_each: int = LABELS_EACH, class_mode: bool = True) -> dict:
    """One load test with n students; returns the figures and every problem found ("problems").
    lesson_cells: run only lesson 00's first code cells (0: only open it; default: all of them);
    labels_each: labels every student gives (at most LABELS_EACH); class_mode: the first student
    also opens class mode (Voila in their own server) and its first chart is drawn."""
    if not 1 <= labels_each <= LABELS_EACH:
        raise ValueError(f"labels_each must be 1 to {LABELS_EACH}, not {labels_each}")
    import psutil

    students = [f"student{i + 1}" for i in range(n_students)]
    tmp = Path(tempfile.mkdtemp(prefix="course-class-"))
    class_dir = tmp / "state"
    result = {"students": n_students, "problems": []}
    t_start = time.monotonic()
    try:
        hub = start_hub(tmp, students)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    contexts = {}
    try:
        result["hub_start_s"] = round(time.monotonic() - t_start, 1)
        with Meter(hub.proc.pid, students) as meter:
            pages, consoles = {}, {}
            for s in students:
                contexts[s] = new_context(browser)
                pages[s] = contexts[s].new_page()
                consoles[s] = ConsoleLog(pages[s])
            t0 = time.monotonic()
            for s in students:
                log_in(pages[s], hub.url, s, shot="class-hub-login" if shots and s == students[0] else None)
            for s in students:  # the servers start at once; wait for each one's JupyterLab
                pages[s].wait_for_url(f"**/user/{s}/lab**", timeout=SPAWN_TIMEOUT_MS)
                pages[s].wait_for_function("() => !!window.jupyterapp", timeout=SPAWN_TIMEOUT_MS)
            result["log_in_s"] = round(time.monotonic() - t0, 1)

            seconds, problems = run_notebook_everywhere(pages, hub.url, LESSON, lesson_cells)
            result["lesson00_cells"] = ("all" if lesson_cells is None else "none (opened only)" if lesson_cells == 0
                                        else f"first {lesson_cells} code cells")
            result["lesson00_s"], result["problems"] = round(seconds, 1), result["problems"] + problems
            if shots:
                first = pages[students[0]]
                widgets = first.locator(".jp-OutputArea-output .jupyter-widgets")
                if widgets.count():
                    widgets.first.scroll_into_view_if_needed()
                screenshot(first, "class-hub-lesson00")

            seconds, problems = run_notebook_everywhere(pages, hub.url, LABELLING)
            result["labelling_page_s"], result["problems"] = round(seconds, 1), result["problems"] + problems
            if problems:
                return result
            t0 = time.monotonic()
            labelled, waits = label_everywhere(pages, labels_each)
            result["gather_s"] = round(time.monotonic() - t0, 1)
            waits.sort()
            result["click_to_next_pair_s"] = {"median": round(waits[len(waits) // 2], 2),
                                              "p90": round(waits[int(len(waits) * 0.9)], 2),
                                              "max": round(waits[-1], 2)}
            if shots:
                first = pages[students[0]]
                first.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")  # their home
                first.wait_for_timeout(1000)
                screenshot(first, "class-hub-labels")
            if class_mode:  # class mode (Voila) from the first student's own server
                t0 = time.monotonic()
                first = pages[students[0]]
                first.goto(f"{hub.url}/user/{students[0]}/voila/render/class_mode.ipynb", timeout=SPAWN_TIMEOUT_MS)
                first.get_by_text("Next word", exact=True).first.wait_for(timeout=SPAWN_TIMEOUT_MS)
                first.locator(".js-plotly-plot").first.wait_for(timeout=SPAWN_TIMEOUT_MS)
                result["class_mode_s"] = round(time.monotonic() - t0, 1)
                if shots:
                    screenshot(first, "class-hub-class-mode")
            for s in students:
                try:
                    assert_offline(contexts[s], f"{s}'s JupyterLab in the class hub")
                except AssertionError as e:
                    result["problems"].append(str(e))
        result["problems"] += check_labels(class_dir, labelled)
        mb = 1024 * 1024
        result["per_student"] = {
            "peak_rss_mb": round(sum(p["rss"] for p in meter.peak.values()) / n_students / mb),
            "peak_pss_mb": round(sum(p["pss"] for p in meter.peak.values()) / n_students / mb),
            "max_peak_pss_mb": round(max(p["pss"] for p in meter.peak.values()) / mb),
            "processes": max(p["processes"] for p in meter.peak.values()),
            "cpu_s": round(sum(meter.cpu.values()) / n_students, 1),
        }
        result["hub_and_proxy_rss_mb"] = round(meter.hub_peak_rss / mb)
        seconds, merged = run_command("merge", str(class_dir))
        result["merge_s"] = round(seconds, 1)
        result["merged"] = {"students": merged["students"], "labels": merged["merged"], "ties": merged["ties"],
                            "rejected": len(merged["rejected"]), "duplicates": len(merged["duplicates"]),
                            "agreement_between_students": merged["between_students"].get("rate")}
        wanted = {"students": n_students, "labels": n_students * labels_each, "rejected": 0, "duplicates": 0}
        for key, value in wanted.items():
            if result["merged"][key] != value:
                result["problems"].append(f"merge: {key} is {result['merged'][key]}, not {value}")
        if train:
            seconds, report = run_command("train", str(class_dir), *TRAIN_FLAGS)
            result["train_s"] = round(seconds, 1)
            result["trained_on"] = {"labels": report.get("labels"), "train": report.get("train_labels"),
                                    "heldout": report.get("heldout_labels")}
            if not (class_dir / "model").is_dir():
                result["problems"].append(f"train saved no model in {class_dir / 'model'}")
        result["machine"] = {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1e9, 1)}
        result["total_s"] = round(time.monotonic() - t_start, 1)
        return result
    except BaseException:
        for student, context in contexts.items():  # what each student saw when it failed
            for page in context.pages:
                screenshot(page, f"class-hub-{student}-FAILED")
        raise
    finally:
        for context in contexts.values():
            context.close()
        hub.stop(grace=30)
        left = [p for p in psutil.process_iter(["environ"]) if (p.info.get("environ") or {}).get(
            "COURSE_CLASS_ROOT") == str(class_dir)]
        if left:
            result["problems"].append(f"{len(left)} processes of the hub were still running after it stopped")
            for p in left:
                p.kill()
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUT_DIR / f"load-{n_students}.json").write_text(json.dumps(result, indent=2))
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[3], help="one run per number (>= 1)")
    parser.add_argument("--no-train", action="store_true", help="merge, but do not train")
    parser.add_argument("--lesson-cells", type=int, default=None,
                        help="run only lesson 00's first N code cells (default: all)")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.students):
        parser.error("--students takes whole numbers >= 1")
    from playwright.sync_api import sync_playwright

    install()
    failed = False
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        for n in args.students:
            result = run_class(browser, n, shots=n == args.students[0], train=not args.no_train,
                               lesson_cells=args.lesson_cells)
            print(json.dumps(result, indent=2), flush=True)
            failed = failed or bool(result["problems"])
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
