"""scripts/export_site.py: lessons as offline HTML pages and reveal.js slides.

Without a kernel: which lessons a name picks, bad input, how live widgets and plotly figures
become static HTML, where slides start. With one: lesson 00 exported in fast mode has no link
to the internet, plotly.js once, the explorer's last picture and more than one slide.
(tests/browser/test_export_site.py opens an exported page and its slides in Chromium.)
"""
import importlib.util
import os
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "export_site.py"


def load_exporter():
    spec = importlib.util.spec_from_file_location("export_site", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


site = load_exporter()


def needs_npm_assets():
    """reveal.js and MathJax come from npm (.ci/run installs them); elsewhere the tests say how."""
    if not (site.REVEAL_DIR / "dist" / "reveal.js").exists() or not (site.MATHJAX_DIR / "tex-chtml.js").exists():
        if os.environ.get("CI"):
            pytest.fail(f"reveal.js / MathJax missing in {site.NODE_MODULES}: `{site.NPM_INSTALL}`")
        pytest.skip(f"reveal.js / MathJax not installed: `{site.NPM_INSTALL}`")


def external_loads(text: str) -> list:
    """Every script, stylesheet, font or import the page would fetch from another host."""
    tags = re.findall(r"<(?:script|link|img|iframe)[^>]*(?:src|href)=[\"'](https?://[^\"']+)", text)
    css = re.findall(r"(?:@import\s+(?:url\()?|url\()[\"']?(https?://[^\"')]+)", text)
    return [u for u in tags + css if not u.startswith(("http://127.0.0.1", "http://localhost"))]


# -- picking lessons, bad input -----------------------------------------------------------------

def test_lessons_are_picked_by_number_name_or_path():
    all_lessons = site.lessons()
    assert all_lessons[0].stem == "00_prediction_machine" and all_lessons[-1].stem == "widgets_gallery"
    picked = site.pick_lessons(["03", "00_prediction_machine", "notebooks/widgets_gallery.ipynb", "03"])
    assert [p.stem for p in picked] == ["03_learning_from_examples", "00_prediction_machine", "widgets_gallery"]
    assert site.pick_lessons([]) == all_lessons


@pytest.mark.parametrize("name", ["99", "attention", "0"])
def test_an_unknown_lesson_is_a_clear_error(name, capsys):
    assert site.main([name, "--out", "/nonexistent/never-made"]) == 2
    err = capsys.readouterr().err
    assert f"unknown lesson {name!r}" in err and "05_attention" in err


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "site"
    blocker.write_text("not a folder")
    assert site.main(["00", "--out", str(blocker)]) == 2
    assert f"{blocker} is a file, not a folder" in capsys.readouterr().err
    assert site.main(["00", "--out", str(blocker / "inner")]) == 2  # a file above the folder, too
    assert blocker.read_text() == "not a folder"


def test_slides_without_reveal_js_say_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(site, "REVEAL_DIR", tmp_path / "no-reveal")
    assert site.main(["00", "--slides", "--out", str(tmp_path / "out")]) == 2
    assert "npm install" in capsys.readouterr().err


# -- static outputs -------------------------------------------------------------------------------

def test_widgets_become_their_snapshot_and_plotly_figures_plotly_html():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", {site.WIDGET_VIEW: view, "text/plain": "[explorer]"}),
        nbformat.v4.new_output("display_data", {site.WIDGET_VIEW: dict(view, model_id="other"), "text/plain": "[w]"}),
        nbformat.v4.new_output("display_data", {site.PLOTLY_JSON: {"data": [{"type": "bar", "y": [1, 2]}],
                                                                     "layout": {}}}),
    ])]
    charts = site.make_static(nb, {"abc": "<div>the picture</div>"})
    first, second, third = nb.cells[0].outputs
    assert "<div>the picture</div>" in first.data["text/html"] and site.WIDGET_VIEW not in first.data
    assert dict(second.data) == {"text/plain": "[w]"}  # no snapshot: the one-line note stays
    assert "Plotly.newPlot" in third.data["text/html"] and site.PLOTLY_JSON not in third.data
    assert "<script src" not in third.data["text/html"]  # plotly.js comes once per page, from _static/
    assert charts == 1


def test_slides_start_at_headings_hide_long_code_and_skip_empty_cells():
    long_code = "\n".join(f"x{i} = {i}" for i in range(site.LONG_CODE_LINES + 1))
    tall = "\n".join(["a line of text"] * site.SLIDE_LINES)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nintro"),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                                                       nbformat.v4.new_output("stream", name="stderr", text="w\n")]),
        nbformat.v4.new_code_cell(long_code),  # hidden input, no output: nothing to show
        nbformat.v4.new_markdown_cell("## Section"),
        nbformat.v4.new_markdown_cell(tall),  # does not fit under the heading: a sub-slide
        nbformat.v4.new_markdown_cell("### Part"),
        nbformat.v4.new_markdown_cell("more"),
    ]
    assert site.slide_plan(nb) == ["slide", "fragment", "skip", "slide", "subslide", "subslide", "fragment"]
    assert nb.cells[2].transient == {"remove_source": True} and "transient" not in nb.cells[1]
    assert [o.name for o in nb.cells[1].outputs] == ["stdout"]
    assert nb.cells[0].metadata.slideshow == {"slide_type": "slide"}


def test_in_export_mode_shown_explorers_leave_their_last_picture(monkeypatch):
    from course_lib.widgets import ScaleCalculator, base

    monkeypatch.setattr(base, "_shown", {})
    ScaleCalculator()._repr_mimebundle_()  # not in export mode: not remembered
    assert base.shown_snapshots() == {}
    monkeypatch.setenv(base.STATIC_EXPORT_ENV, "1")
    calc = ScaleCalculator()
    model_id = calc._repr_mimebundle_()[site.WIDGET_VIEW]["model_id"]
    calc.fig.layout.title.text = "changed after it was shown"
    snapshot = base.shown_snapshots()[model_id]
    assert "changed after it was shown" in snapshot and "Plotly.newPlot" in snapshot
    assert "window.PlotlyConfig" not in snapshot  # plotly.js is the page's, not the snapshot's
    # The gallery's own snapshots() cell does not paste plotly.js into an exported page a second time.
    assert "window.PlotlyConfig" not in base.snapshots(calc, include_plotlyjs=True).data


# -- a real lesson ----------------------------------------------------------------------------

def test_lesson_00_exports_offline_with_its_explorer_as_a_picture(tmp_path):
    needs_npm_assets()
    report = site.export(["00"], tmp_path, fast=True, slides=True, log=lambda *a: None)
    assert report["00_prediction_machine"]["snapshots"] == 1 and report["00_prediction_machine"]["slides"] > 5
    page = (tmp_path / "00_prediction_machine.html").read_text(encoding="utf-8")
    slides = (tmp_path / "00_prediction_machine.slides.html").read_text(encoding="utf-8")
    for text in (page, slides):
        assert not external_loads(text), external_loads(text)
        assert text.count('<script src="_static/plotly.min.js"></script>') == 1
        assert "window.PlotlyConfig" not in text  # plotly.js is not pasted into the page as well
        assert 'class="course-snapshot"' in text and "Plotly.newPlot" in text
        assert "application/vnd.jupyter.widget-view+json" not in text and "a live explorer" not in text
    assert slides.count("<section") > 5 and "_static/reveal.js/dist/reveal.js" in slides
    for asset in ("plotly.min.js", "mathjax/tex-chtml.js", "reveal.js/dist/reveal.js", "reveal.js/dist/theme/white.css"):
        assert (tmp_path / "_static" / asset).is_file(), asset
    for css in (tmp_path / "_static").rglob("*.css"):
        assert not external_loads(css.read_text(encoding="utf-8")), css
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'href="00_prediction_machine.html"' in index and 'href="00_prediction_machine.slides.html"' in index
    assert "01_text_to_numbers" not in index  # only lessons that were exported
