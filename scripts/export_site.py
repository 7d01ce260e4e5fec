"""Export the lessons as a static site that works offline: one HTML page per lesson, optional slides.

    python scripts/export_site.py                       # every lesson, learner mode, into dist/site
    python scripts/export_site.py --fast --slides 00 03 # two lessons, COURSE_FAST=1, pages and slides
    python scripts/export_site.py --out /tmp/site widgets_gallery

Each notebook is run top to bottom (nbclient, in notebooks/) with COURSE_STATIC_EXPORT=1: every
explorer shown is remembered (course_lib/widgets/base.py), and after the last cell its last picture
(`static()`: the chart the widget shows at the end of the lesson) replaces the live widget, which
cannot work without a kernel. plotly figures become plotly's own HTML. The pages load plotly.js
(from the installed plotly package) and MathJax 3 (npm, for the formulas) from the site's _static/
folder: nothing comes from the internet.

--slides also writes `NN_name.slides.html`, nbconvert's reveal.js slides of the same executed
notebook: `#`/`##` headings start a slide, `###` a sub-slide, other cells appear one by one
(fragments) until a slide is full, then a sub-slide; inputs of code cells longer than
LONG_CODE_LINES lines are hidden, and cells with nothing left to show are skipped.
reveal.js and MathJax come from npm (git-ignored node_modules/):

    npm install --prefix . --no-save --no-package-lock reveal.js@5.2.1 mathjax@3.2.2
"""
import argparse
import html
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "site_templates"
NODE_MODULES = REPO / "node_modules"
REVEAL_DIR = NODE_MODULES / "reveal.js"
MATHJAX_DIR = NODE_MODULES / "mathjax" / "es5"
NPM_INSTALL = "npm install --prefix . --no-save --no-package-lock reveal.js@5.2.1 mathjax@3.2.2"
STATIC = "_static"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY_JSON = "application/vnd.plotly.v1+json"
SNAPSHOTS = "application/x-course-snapshots+json"
SNAPSHOT_NOTE = ("A picture of the live explorer as it was at the end of the lesson: "
                 "run the notebook in JupyterLab to play with it.")
# The last cell the exporter adds (and removes again): every shown explorer's last picture.
SNAPSHOT_CELL = ("from IPython.display import display as _display\n"
                 "from course_lib.widgets.base import shown_snapshots as _shown_snapshots\n"
                 f"_display({{{SNAPSHOTS!r}: _shown_snapshots()}}, raw=True)")

LONG_CODE_LINES = 6  # a slide shows the code of shorter cells only
SLIDE_LINES = 22  # about what fits on one 960 x 700 slide, in lines of text


def lessons() -> list:
    """Every lesson notebook, in order (00 .. 12, then the widgets gallery)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted(NOTEBOOKS.glob("widgets_gallery.ipynb"))


def pick_lessons(names) -> list:
    """Notebooks named by number ("03"), name ("03_learning_from_examples", "widgets_gallery") or path."""
    available = lessons()
    if not names:
        return available
    picked = []
    for name in names:
        stem = Path(name).stem if name.endswith(".ipynb") else Path(name).name
        found = [p for p in available if p.stem == stem or p.stem.split("_")[0] == stem]
        if len(found) != 1:
            choices = ", ".join(p.stem for p in available)
            raise ValueError(f"unknown lesson {name!r}: give a number (00..12), a name or a notebook in "
                             f"notebooks/; there are: {choices}")
        if found[0] not in picked:
            picked.append(found[0])
    return picked


def check_out_dir(out: Path) -> Path:
    """The output folder, created if missing; a file there (or above it) is refused."""
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise ValueError(f"the output folder {out} cannot be made: {p} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


# -- running a lesson -----------------------------------------------------------------------------

def execute(path: Path, fast: bool, timeout: int):
    """Run a notebook top to bottom in a fresh kernel; return (notebook, {model id: snapshot HTML})."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(SNAPSHOT_CELL))
    env = dict(os.environ, COURSE_STATIC_EXPORT="1", PLOTLY_RENDERER="plotly_mimetype",
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend: plt.show() gives a picture
    if fast:
        env["COURSE_FAST"] = "1"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    last = nb.cells.pop()
    snapshots = {}
    for out in last.get("outputs", []):
        snapshots.update(out.get("data", {}).get(SNAPSHOTS, {}))
    nb.metadata.pop("widgets", None)
    return nb, snapshots


def make_static(nb, snapshots: dict) -> int:
    """Replace live widgets by their snapshots and plotly figures by plotly's HTML; return how many charts."""
    import plotly.io as pio

    charts = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            view = data.pop(WIDGET_VIEW, None)
            if view and view.get("model_id") in snapshots:
                data["text/html"] = (f'<div class="course-snapshot"><div class="course-snapshot-note">'
                                     f'{SNAPSHOT_NOTE}</div>{snapshots[view["model_id"]]}</div>')
            fig = data.pop(PLOTLY_JSON, None)
            if fig is not None:
                data["text/html"] = pio.to_html(fig, full_html=False, include_plotlyjs=False, validate=False,
                                                config={"displaylogo": False, "responsive": True})
            charts += "Plotly.newPlot" in data.get("text/html", "")
    return charts


# -- slides ---------------------------------------------------------------------------------------

def _text_lines(text: str, width=80) -> int:
    return sum(max(1, math.ceil(len(line) / width)) for line in text.splitlines()) if text.strip() else 0


def _output_lines(out) -> int:
    if out.get("output_type") == "stream":
        return min(12, _text_lines(out.get("text", "")))
    data = out.get("data", {})
    if "image/png" in data or "Plotly.newPlot" in data.get("text/html", ""):
        return 16
    if "text/html" in data:
        return min(14, _text_lines(re.sub(r"<[^>]+>", "", data["text/html"])) + 2)
    return min(12, _text_lines(data.get("text/plain", "")))


def slide_plan(nb) -> list:
    """Slide metadata for every cell (see the module docstring); also hides long code and drops stderr."""
    plan, used = [], 0
    for cell in nb.cells:
        source = cell.source.strip()
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
            hide = len(source.splitlines()) > LONG_CODE_LINES
            if hide:
                cell.setdefault("transient", {})["remove_source"] = True
            size = (0 if hide else len(source.splitlines()) + 1) + sum(_output_lines(o) for o in cell.outputs)
        else:
            size = _text_lines(source)
        first = source.splitlines()[0] if source else ""
        if cell.cell_type == "markdown" and re.match(r"#{1,2} ", first):
            kind, used = "slide", size
        elif cell.cell_type == "markdown" and first.startswith("### "):
            kind, used = "subslide", size
        elif size == 0:
            kind = "skip"
        elif used + size > SLIDE_LINES and used > 0:
            kind, used = "subslide", size
        else:
            kind, used = ("fragment" if plan else "slide"), used + size
        cell.metadata["slideshow"] = {"slide_type": kind}
        plan.append(kind)
    return plan


# -- writing the site -----------------------------------------------------------------------------

def copy_assets(out: Path, slides: bool) -> bool:
    """plotly.js, and MathJax / reveal.js from node_modules, into out/_static; returns whether MathJax is there."""
    from course_lib.widgets.figure import PLOTLY_JS

    static = out / STATIC
    static.mkdir(exist_ok=True)
    shutil.copyfile(PLOTLY_JS, static / "plotly.min.js")
    if slides:
        if not (REVEAL_DIR / "dist" / "reveal.js").exists():
            raise FileNotFoundError(f"--slides needs reveal.js in {REVEAL_DIR}: install it with `{NPM_INSTALL}`")
        # Only the white theme: the other themes ask Google for their fonts.
        for part in ("dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/theme/white.css",
                     "dist/theme/fonts/source-sans-pro", "plugin/notes/notes.js"):
            source, target = REVEAL_DIR / part, static / "reveal.js" / part
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
    if not (MATHJAX_DIR / "tex-chtml.js").exists():
        print(f"note: MathJax is not in {MATHJAX_DIR}: formulas stay as $...$ text (install: `{NPM_INSTALL}`)",
              file=sys.stderr)
        return False
    (static / "mathjax").mkdir(exist_ok=True)
    shutil.copyfile(MATHJAX_DIR / "tex-chtml.js", static / "mathjax" / "tex-chtml.js")
    for part in ("output/chtml/fonts/woff-v2", "input/tex/extensions"):
        shutil.copytree(MATHJAX_DIR / part, static / "mathjax" / part, dirs_exist_ok=True)
    return True


def render(nb, template: str, course: dict, title: str) -> str:
    from nbconvert import HTMLExporter, SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.TemplateExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.TemplateExporter.extra_template_paths = [str(TEMPLATES)]  # course_assets.html.j2
    config.HTMLExporter.require_js_url = ""
    config.HTMLExporter.mathjax_url = ""
    config.SlidesExporter.reveal_url_prefix = f"{STATIC}/reveal.js"
    config.SlidesExporter.reveal_theme = "white"  # its fonts come with reveal.js (copy_assets)
    exporter_class = SlidesExporter if template == "course_slides" else HTMLExporter
    exporter = exporter_class(config=config, template_name=template)
    body, _ = exporter.from_notebook_node(nb, resources={"course": course, "metadata": {"name": title}})
    return body


def lesson_title(nb_or_path) -> str:
    """The text of a lesson's first heading ("00 · The prediction machine")."""
    import nbformat

    nb = nbformat.read(nb_or_path, as_version=4) if isinstance(nb_or_path, (str, Path)) else nb_or_path
    for cell in nb.cells:
        for line in cell.source.splitlines() if cell.cell_type == "markdown" else []:
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return "Lesson"


def write_index(out: Path):
    """index.html: every lesson that has a page in `out`, with its slides where there are some."""
    from course_lib.fileio import atomic_write_text

    rows = []
    for path in lessons():
        if not (out / f"{path.stem}.html").exists():
            continue
        slides = (out / f"{path.stem}.slides.html").exists()
        rows.append(f'<li><a href="{path.stem}.html">{html.escape(lesson_title(path))}</a>'
                    + (f' &middot; <a href="{path.stem}.slides.html">slides</a>' if slides else "") + "</li>")
    atomic_write_text(out / "index.html", f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Build a GPT: the lessons</title>
<style>body {{ font-family: sans-serif; max-width: 44em; margin: 2em auto; line-height: 1.6; }}</style></head>
<body><h1>Build a GPT: the lessons</h1>
<p>Each lesson as it looks after running it top to bottom. The explorers are pictures of their last
state here; open the notebooks in JupyterLab to play with them.</p>
<ul>
{chr(10).join(rows)}
</ul></body></html>
""")


def export(names=(), out=REPO / "dist" / "site", fast=False, slides=False, timeout=None, log=print) -> dict:
    """Export lessons into `out`; returns {lesson stem: {"seconds", "charts", "snapshots", "slides"}}."""
    from course_lib.fileio import atomic_write_text

    paths = pick_lessons(names)
    out = check_out_dir(out)
    mathjax = copy_assets(out, slides)
    timeout = timeout or (600 if fast else 3600)
    report = {}
    for path in paths:
        start = time.perf_counter()
        log(f"{path.stem}: running ...")
        nb, snapshots = execute(path, fast, timeout)
        charts = make_static(nb, snapshots)
        title = lesson_title(nb)
        course = {"static": STATIC, "mathjax": mathjax, "plotly": charts > 0,
                  "slides_href": f"{path.stem}.slides.html" if slides else ""}
        atomic_write_text(out / f"{path.stem}.html", render(nb, "course_page", course, title))
        plan = []
        if slides:
            plan = slide_plan(nb)
            atomic_write_text(out / f"{path.stem}.slides.html", render(nb, "course_slides", course, title))
        report[path.stem] = {"seconds": round(time.perf_counter() - start, 1), "charts": charts,
                             "snapshots": len(snapshots), "slides": plan.count("slide") + plan.count("subslide")}
        log(f"{path.stem}: {report[path.stem]}")
    write_index(out)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: all)")
    parser.add_argument("--out", default=str(REPO / "dist" / "site"), help="output folder (default: dist/site)")
    parser.add_argument("--fast", action="store_true", help="COURSE_FAST=1: short training (for tests)")
    parser.add_argument("--slides", action="store_true", help="also write reveal.js slides per lesson")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default 600 fast, 3600)")
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    start = time.perf_counter()
    try:
        export(args.lessons, Path(args.out), args.fast, args.slides, args.timeout)
    except (ValueError, FileNotFoundError) as e:
        print(f"export_site: error: {e}", file=sys.stderr)
        return 2
    except CellExecutionError as e:  # nbclient's message names the cell and the error
        print(f"export_site: a lesson failed to run:\n{e}", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in Path(args.out).rglob("*") if f.is_file())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
