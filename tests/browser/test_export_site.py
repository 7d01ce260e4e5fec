"""An exported lesson and its slides in Chromium, with every request to another host failing.

scripts/export_site.py exports lesson 03 (fast mode, with --slides) into a temporary folder;
the page is opened from disk, as a reader of the site would: its explorers' pictures are drawn
by the plotly.js in _static/ (an svg each, with data), its formulas by the local MathJax, and
nothing is asked of another host, with no console error. The slides: more than one, and the
first slide with a chart draws it at its full size once it shows.
Screenshots: test-output/browser/export-page.png, export-slide-chart.png.
"""
import importlib.util

import pytest

from browser_helpers import (
    PLOTLY_REPORT_JS, REPO, ConsoleLog, assert_offline, new_context, screenshot, shot_on_failure, wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = "03_learning_from_examples"  # two explorers (descent, dashboard) and formulas


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_path):
    spec = importlib.util.spec_from_file_location("export_site", REPO / "scripts" / "export_site.py")
    exporter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exporter)
    out = tmp_path_factory.mktemp("site")
    report = exporter.export([LESSON], out, fast=True, slides=True, log=lambda *a: None)
    assert report[LESSON]["snapshots"] >= 2, report
    return out


def console_errors(log: ConsoleLog) -> list:
    return [line for line in log.lines if not line.startswith("console.warning")]


def test_exported_page_draws_its_charts_and_formulas_offline(browser, site):
    context = new_context(browser)
    page = context.new_page()
    log = ConsoleLog(page)
    try:
        with shot_on_failure(page, "export-page"):
            page.goto((site / f"{LESSON}.html").as_uri(), timeout=60_000)
            charts = wait_until(page, lambda: (lambda r: r if r["total"] >= 2 and not r["empty"]
                                               and not r["unrendered"] else None)(page.evaluate(PLOTLY_REPORT_JS)),
                                60, "the exported page's charts drawn with data")
            snapshots = page.locator(".course-snapshot .js-plotly-plot .main-svg")
            assert snapshots.count() >= 2, charts
            wait_until(page, lambda: page.locator("mjx-container").count() > 0, 30, "MathJax typesetting the formulas")
            assert "$$" not in page.locator("main").inner_text()
        page.locator(".course-snapshot").first.scroll_into_view_if_needed()
        screenshot(page, "export-page")
        assert not console_errors(log), log.tail()
        assert_offline(context, "the exported lesson page")
    finally:
        context.close()


def test_exported_slides_show_a_chart_on_a_slide(browser, site):
    context = new_context(browser)
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    log = ConsoleLog(page)
    try:
        with shot_on_failure(page, "export-slide-chart"):
            page.goto((site / f"{LESSON}.slides.html").as_uri(), timeout=60_000)
            wait_until(page, lambda: page.evaluate("() => !!(window.Reveal && Reveal.isReady())"), 30,
                       "reveal.js starting")
            assert page.evaluate("() => Reveal.getTotalSlides()") > 1
            # The first slide with a chart, all its fragments shown.
            found = page.evaluate("""() => {
              for (const s of Reveal.getSlides()) {
                if (!s.querySelector('.js-plotly-plot')) continue;
                const i = Reveal.getIndices(s);
                Reveal.slide(i.h, i.v, 999);
                return true;
              }
              return false; }""")
            assert found, "no slide has a chart"
            size = wait_until(page, lambda: page.evaluate("""() => {
              const p = Reveal.getCurrentSlide().querySelector('.js-plotly-plot');
              const drawn = p && p._fullLayout && p.querySelector('.main-svg') && p.querySelectorAll('.trace').length;
              return drawn && p.data.some(t => t.x && t.x.length) ? p.offsetWidth : null; }"""),
                              30, "the slide's chart drawn with data")
            assert size > 300
        page.wait_for_timeout(800)  # the slide transition
        screenshot(page, "export-slide-chart")
        assert not console_errors(log), log.tail()
        assert_offline(context, "the exported slides")
    finally:
        context.close()
