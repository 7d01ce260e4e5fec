"""The charts on a slow laptop: Chromium's CPU throttled 4x, anywidget's real 2 s deadline.

On a slow machine a chart can come up as empty axes and never update (plotly's FigureWidget:
plotly.py issue 5143, voila issue 1533). Here lesson 00 and the widgets gallery run in
JupyterLab, and every tab of class mode opens in Voila, with the page's CPU throttled 4x
(DevTools `Emulation.setCPUThrottlingRate`). Each checks: every chart shows data (traces
with points, not just axes); moving a slider (with the keyboard, as a learner can) changes
the chart it belongs to; the console shows no widget error; no request left the machine.

The time from the first widget on the page to the first chart with data goes to
test-output/browser/first-chart.txt (recorded in bench/RESULTS.md). Screenshots:
test-output/browser/slow-*.png.
"""
import re
import time
from pathlib import Path

import pytest

from browser_helpers import (
    PLOTLY_REPORT_JS, RUN_TIMEOUT_MS, SLOW_MACHINE_RATE, ConsoleLog, assert_offline, cell_problems,
    chart_signature, close_notebook, new_context, open_in_lab, record_first_chart, run_all_cells, screenshot,
    shot_on_failure, throttle_cpu, wait_for_charts, wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART_TIMEOUT_S = 90  # every chart of a page drawn with data, CPU throttled
CHANGE_TIMEOUT_S = 30  # a chart redrawn after a slider moved, CPU throttled

# Sliders tried first, by label: those that redraw a chart (others only change text).
SLIDER_ORDER = ("temperature", "neighbours", "learning rate", "operations", "start")

def slow_page(browser):
    context = new_context(browser)
    page = context.new_page()
    page.cdp = throttle_cpu(page)
    return context, page, ConsoleLog(page)


def full_speed(page):
    """Back to the real CPU once the checks are done: screenshots are not what is tested."""
    page.cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})


def charts_with_data(page, root, what, timeout_s=CHART_TIMEOUT_S):
    """Wait until every chart under `root` is drawn with data; return the count."""
    def ready():
        r = root.evaluate(PLOTLY_REPORT_JS)
        return r if r["total"] and not r["empty"] and not r["unrendered"] else None

    try:
        return wait_until(page, ready, timeout_s, "charts drawn with data")["total"]
    except AssertionError:
        raise AssertionError(f"{what}: not every chart shows data after {timeout_s} s (CPU throttled "
                             f"{SLOW_MACHINE_RATE}x): {root.evaluate(PLOTLY_REPORT_JS)} (total charts, "
                             "empty = axes without data, unrendered)") from None


def ordered_sliders(root) -> list:
    sliders = root.locator(".widget-slider")
    labels = [(sliders.nth(i).locator(".widget-label").first.text_content() or "").strip().lower()
              for i in range(sliders.count())]
    rank = [next((k for k, name in enumerate(SLIDER_ORDER) if name in label), len(SLIDER_ORDER))
            for label in labels]
    return [(labels[i], sliders.nth(i)) for i in sorted(range(len(labels)), key=lambda i: rank[i])]


def slider_changes_chart(page, root, what) -> str:
    """Press the right arrow on a slider's handle (3 steps); the chart under `root` must change.

    Tries the sliders in SLIDER_ORDER until one changes the chart; returns its label.
    """
    tried = []
    for label, slider in ordered_sliders(root)[:3]:
        before = chart_signature(root)
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        deadline = time.monotonic() + CHANGE_TIMEOUT_S
        while time.monotonic() < deadline:
            now = chart_signature(root)
            if now and now != before:
                return label
            page.wait_for_timeout(250)
        tried.append(label)
    raise AssertionError(f"{what}: moving a slider did not change its chart within {CHANGE_TIMEOUT_S} s "
                         f"(CPU throttled {SLOW_MACHINE_RATE}x; sliders tried: {tried or 'none found'})")


def no_widget_errors(console, what):
    errors = console.widget_errors()
    assert not errors, f"{what}: the console shows widget errors:\n" + "\n".join(errors[:15])


# ---------------------------------------------------------------------------------------------
# JupyterLab: lesson 00 and the widgets gallery
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["00_prediction_machine.ipynb", "widgets_gallery.ipynb"])
def test_lesson_charts_on_a_slow_laptop(name, browser, jupyterlab):
    stem = Path(name).stem
    context, page, console = slow_page(browser)
    try:
        with shot_on_failure(page, f"slow-{stem}"):
            open_in_lab(page, jupyterlab.url, f"notebooks/{name}", timeout_ms=240_000)
            report = run_all_cells(page, RUN_TIMEOUT_MS)
            problems = cell_problems(report)
            assert not problems, "\n".join(problems) + "\n" + console.tail()
            wait_for_charts(page, f"{name} (CPU throttled {SLOW_MACHINE_RATE}x)", timeout_s=CHART_TIMEOUT_S)
            record_first_chart(page, f"JupyterLab, {name}", SLOW_MACHINE_RATE)

            # Every widget output with a chart and a slider: a slider moves the chart.
            outputs = page.locator(".jp-OutputArea-output:has(.js-plotly-plot):has(.widget-slider)")
            assert outputs.count() >= 1, f"{name}: no explorer with a chart and a slider"
            moved = []
            for i in range(outputs.count()):
                output = outputs.nth(i)
                output.scroll_into_view_if_needed()
                moved.append(slider_changes_chart(page, output, f"{name}, explorer {i + 1}"))
                charts_with_data(page, output, f"{name}, explorer {i + 1} after its slider moved")
            no_widget_errors(console, name)
        full_speed(page)
        screenshot(page, f"slow-{stem}")
        charts = page.locator(".jp-OutputArea-output:has(.js-plotly-plot)")
        for i in range(min(charts.count(), 8)):
            screenshot(charts.nth(i), f"slow-{stem}-chart-{i + 1}")
        assert_offline(context, f"JupyterLab running {name}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- browser console ---\n{console.tail()}") from None
    finally:
        close_notebook(page)
        context.close()


# ---------------------------------------------------------------------------------------------
# Class mode (Voila): every tab
# ---------------------------------------------------------------------------------------------

def test_class_mode_tabs_on_a_slow_laptop(browser, voila):
    context, page, console = slow_page(browser)
    try:
        with shot_on_failure(page, "slow-class-mode"):
            page.goto(voila.url + "/", wait_until="commit", timeout=60_000)
            tabs = page.locator(".class-mode-tabs")
            tabs.wait_for(state="visible", timeout=300_000)
            titles = [t.strip() for t in tabs.locator(".lm-TabBar-tab").all_inner_texts()]
            assert len(titles) >= 6, titles
            for index, title in enumerate(titles):
                tabs.locator(".lm-TabBar-tab").nth(index).click()
                panel = tabs.locator(".widget-tab-contents > *").nth(index)
                # The tab builds its explorer when opened: wait for it to replace "Opening the explorer…".
                wait_until(page, lambda: "Opening the explorer" not in (panel.inner_text() or ""), 120,
                           f"class mode: the {title} tab to build its explorer")
                text = panel.inner_text()
                assert "could not start" not in text, f"class mode, {title}: {text[:500]}"
                if panel.locator(".js-plotly-plot").count():
                    n = charts_with_data(page, panel, f"class mode, {title} tab")
                    if index == 0:
                        record_first_chart(page, "Voila class mode, Next word tab", SLOW_MACHINE_RATE)
                    if panel.locator(".widget-slider").count():
                        slider_changes_chart(page, panel, f"class mode, {title} tab")
                    else:  # the attention tab: another head
                        before = chart_signature(panel)
                        head = panel.locator(".widget-dropdown").filter(
                            has=page.locator("label", has_text=re.compile(r"^\s*head")))
                        head.locator("select").select_option(label="head 1")
                        wait_until(page, lambda: chart_signature(panel) != before, 30,
                                   f"class mode, {title}: the chart after choosing head 1")
                    charts_with_data(page, panel, f"class mode, {title} tab after a change")
                    screenshot(page, f"slow-class-mode-{index + 1}-{re.sub(r'[^a-z]+', '-', title.lower())}")
                    assert n >= 1
                else:
                    assert panel.locator(".jupyter-widgets").count() > 1, f"class mode, {title}: no widget"
                    screenshot(page, f"slow-class-mode-{index + 1}-{re.sub(r'[^a-z]+', '-', title.lower())}")
            no_widget_errors(console, "class mode")
        assert_offline(context, "class mode")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- browser console ---\n{console.tail()}\n--- voila log ---\n"
                             f"{voila.log_tail(2000)}") from None
    finally:
        context.close()
