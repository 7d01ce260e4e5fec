"""Lessons in a real browser: JupyterLab runs every cell; no cell shows an error, every chart is drawn.

nbval already runs every lesson's code; this checks what only a browser shows: widgets
that fail to render, charts drawn without their data, requests to other hosts. To stay
within CI's time nothing runs here by default: lesson 00 and the widgets gallery run in
test_slow_machine.py (CPU throttled, stricter). COURSE_BROWSER_LESSONS=all runs every lesson
(or name them: COURSE_BROWSER_LESSONS=00_prediction_machine.ipynb,05_attention.ipynb).
Screenshots: test-output/browser/lesson-*.png.
"""
import os
from pathlib import Path

import pytest

from browser_helpers import (
    REPO, RUN_TIMEOUT_MS, ConsoleLog, assert_offline, cell_problems, close_notebook, new_context, open_in_lab,
    record_first_chart, run_all_cells, screenshot, shot_on_failure, wait_for_charts,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

def lessons_to_run():
    """COURSE_BROWSER_LESSONS: "all", or notebook names separated by commas (none when unset)."""
    chosen = os.environ.get("COURSE_BROWSER_LESSONS", "").strip()
    if chosen == "all":
        return sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    if chosen:
        return [name.strip() for name in chosen.split(",") if name.strip()]
    return [pytest.param("(none)", marks=pytest.mark.skip(
        reason="set COURSE_BROWSER_LESSONS=all (or names) to run lessons here; 00 and the gallery run in "
               "test_slow_machine.py"))]


@pytest.mark.parametrize("name", lessons_to_run())
def test_lesson_runs_in_jupyterlab(name, browser, jupyterlab):
    if not (REPO / "notebooks" / name).exists():
        pytest.skip(f"notebooks/{name} is not written yet")
    stem = Path(name).stem
    context = new_context(browser)
    page = context.new_page()
    console = ConsoleLog(page)
    try:
        with shot_on_failure(page, f"lesson-{stem}"):
            open_in_lab(page, jupyterlab.url, f"notebooks/{name}")
            report = run_all_cells(page, RUN_TIMEOUT_MS)
            problems = cell_problems(report)
            assert not problems, "\n".join(problems) + "\n" + console.tail()
            wait_for_charts(page, name)
            record_first_chart(page, f"JupyterLab, {name}")
        screenshot(page, f"lesson-{stem}")
        views = page.locator(".jp-OutputArea-output:has(.jupyter-widgets)")
        for i in range(min(views.count(), 8)):
            screenshot(views.nth(i), f"lesson-{stem}-widget-{i + 1}")
        assert_offline(context, f"JupyterLab running {name}")
    finally:
        close_notebook(page)
        context.close()
