"""Offline means offline: no page of the course asks another host for anything.

Every browser test's context fails each request to a host other than this machine and
records it (browser_helpers.Offline); the JupyterLab, class mode and slow-machine tests
assert that list is empty (test_class_mode.py also checks that the buttons' FontAwesome
icons load: Voila's own template asks jsdelivr for them, class mode's template does not).
Here: a lesson exported to HTML (nbconvert with class_mode/offline_html_config.py) opens
with no request to another host and draws its plotly snapshots with the plotly.js inside
the page. Screenshot: test-output/browser/offline-export.png.
"""
import os
import re
import subprocess
import sys

import pytest

from browser_helpers import PLOTLY_REPORT_JS, REPO, assert_offline, new_context, screenshot, shot_on_failure, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXPORT_CONFIG = REPO / "class_mode" / "offline_html_config.py"


def test_exported_lesson_needs_no_internet(browser, tmp_path):
    """nbconvert's HTML of the widgets gallery (its snapshots embed plotly.js) opens offline, charts drawn."""
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--config", str(EXPORT_CONFIG), "--to", "html", "--execute",
         "--ExecutePreprocessor.timeout=600", "--output-dir", str(tmp_path),
         str(REPO / "notebooks" / "widgets_gallery.ipynb")],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, "COURSE_FAST": "1", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr[-3000:]
    html = tmp_path / "widgets_gallery.html"
    text = html.read_text(encoding="utf-8")
    loads = re.findall(r"<(?:script|link)[^>]*(?:src|href)=\"(https?://[^\"]+)", text)
    assert not loads, f"the page loads from other hosts: {loads}"  # require.js, MathJax by default
    assert text.count("window.PlotlyConfig") >= 1, "plotly.js is not inside the page"
    context = new_context(browser)
    page = context.new_page()
    try:
        with shot_on_failure(page, "offline-export"):
            page.goto(html.as_uri(), timeout=120_000)
            charts = wait_until(page, lambda: (lambda r: r if r["total"] >= 4 and not r["empty"]
                                               and not r["unrendered"] else None)(page.evaluate(PLOTLY_REPORT_JS)),
                                90, "the exported page: its plotly snapshots drawn with data")
            assert charts["total"] >= 4, charts
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        screenshot(page, "offline-export")
        assert_offline(context, "the exported lesson")
    finally:
        context.close()
