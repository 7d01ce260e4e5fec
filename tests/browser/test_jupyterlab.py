"""The explorers in a real browser: JupyterLab in headless Chromium runs a notebook, we use the widgets.

One JupyterLab (test-only config: loopback, free port, no token, no news, no virtual
scrolling, no autosave) serves the repository. The tests open
tests/browser/notebooks/explorers.ipynb, run all its cells and check: no cell shows an
error and every chart is drawn with its data; the next-word bar chart is drawn; the
temperature slider, moved with the keyboard and by typing into its readout, changes the
bars on screen; "sample" appends a token to the prompt; the attention heatmap is drawn
and changes when another head is chosen; the chat widget answers a message; no request
went to another host.
(test_lessons_in_lab.py runs lessons the same way.)

Screenshots of every checked view go to test-output/browser/.
"""
import re

import pytest

from browser_helpers import (
    DRAW_TIMEOUT_S, RUN_TIMEOUT_MS, ConsoleLog, assert_offline, bar_signature, cell_problems, close_notebook,
    new_context, open_in_lab, record_first_chart, run_all_cells, screenshot, set_slider_by_readout,
    shot_on_failure, wait_for_charts, wait_until, wait_until_changed,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXPLORERS_NOTEBOOK = "tests/browser/notebooks/explorers.ipynb"


@pytest.fixture(scope="module")
def explorers(browser, jupyterlab):
    """The explorers notebook, opened and run in JupyterLab once for all tests of this module."""
    context = new_context(browser)
    page = context.new_page()
    console = ConsoleLog(page)
    try:
        with shot_on_failure(page, "lab-explorers-run"):
            open_in_lab(page, jupyterlab.url, EXPLORERS_NOTEBOOK)
            report = run_all_cells(page, RUN_TIMEOUT_MS)
        yield {"page": page, "report": report, "console": console, "context": context}
    finally:
        close_notebook(page)
        context.close()


def root(page, css_class):
    return page.locator(f".{css_class}").first


def wait_for_bars(page, locator, what):
    return wait_until(page, lambda: bar_signature(locator), DRAW_TIMEOUT_S,
                      f"{what}: no bars drawn (a plotly chart with no data points on screen)")


# ---------------------------------------------------------------------------------------------
# The explorers notebook
# ---------------------------------------------------------------------------------------------

def test_explorers_notebook_runs_without_errors(explorers):
    page, report = explorers["page"], explorers["report"]
    problems = cell_problems(report)
    assert not problems, "\n".join(problems) + "\n" + explorers["console"].tail()
    assert len(report) >= 4 and all(cell["execution_count"] for cell in report)
    with shot_on_failure(page, "lab-explorers-charts"):
        wait_for_charts(page, "explorers.ipynb")
    record_first_chart(page, "JupyterLab, tests/browser/notebooks/explorers.ipynb")
    screenshot(page, "lab-explorers-notebook")


def test_next_word_bar_chart_is_drawn(explorers):
    page = explorers["page"]
    explorer = root(page, "test-next-word")
    with shot_on_failure(page, "next-word-drawn"):
        bars = wait_for_bars(page, explorer, "next-word explorer")
        # up to 15 token bars + the grey "rest of the vocabulary" bar, each labelled with its probability
        assert len(bars) >= 5, bars
        assert all(b.split("|")[1].strip() for b in bars), f"bars without their probability label: {bars}"
        explorer.locator(".gtitle").first.wait_for(timeout=10_000)
        assert explorer.locator(".gtitle").first.text_content().strip(), "the chart has no title"
    screenshot(explorer, "next-word-explorer")


def bar_fills(explorer) -> list:
    """The fill colour of every bar, trace by trace: [[colour of each bar of trace 0], [trace 1], ...]."""
    return explorer.evaluate("""(root) => Array.from(root.querySelectorAll('.barlayer .trace')).map(t =>
        Array.from(t.querySelectorAll('.point path')).map(p => getComputedStyle(p).fill))""")


def rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))


def test_next_word_colours_follow_the_course_palette(explorers):
    """Token bars in the course's bar colour, the rest-of-the-vocabulary bar grey (style.BAR, style.REST)."""
    from course_lib.widgets.style import BAR, CHOSEN, REST

    page = explorers["page"]
    explorer = root(page, "test-next-word")
    wait_for_bars(page, explorer, "next-word explorer")
    fills = bar_fills(explorer)
    assert len(fills) == 2, fills
    assert set(fills[0]) <= {rgb(BAR), rgb(CHOSEN)}, fills[0]
    assert fills[1] == [rgb(REST)], f"the rest-of-the-vocabulary bar is {fills[1]}, not grey {rgb(REST)}"


def test_temperature_slider_changes_the_bars(explorers):
    page = explorers["page"]
    explorer = root(page, "test-next-word")
    slider = explorer.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text="temperature"))
    with shot_on_failure(page, "next-word-temperature"):
        before = wait_for_bars(page, explorer, "next-word explorer")
        readout = slider.locator(".widget-readout")
        start = readout.inner_text().strip()

        # 1. By keyboard: focus the slider's handle, press the right arrow (one step: +0.05) four times.
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        for _ in range(4):
            handle.press("ArrowRight")
        after_keys = wait_until_changed(page, lambda: bar_signature(explorer), before, 20,
                                        "the bars after moving the temperature slider with the keyboard")
        assert readout.inner_text().strip() != start
        screenshot(explorer, "next-word-temperature-keyboard")

        # 2. By typing into the readout: a low temperature sharpens the distribution.
        set_slider_by_readout(slider, "0.30")
        wait_until(page, lambda: readout.inner_text().strip() == "0.30", 15,
                   f"the readout to show 0.30 (it shows {readout.inner_text().strip()!r})")
        after_typed = wait_until_changed(page, lambda: bar_signature(explorer), after_keys, 20,
                                         "the bars after typing 0.30 into the temperature readout")
        assert after_typed != before
    screenshot(explorer, "next-word-temperature-typed")


def test_sample_appends_a_token_to_the_prompt(explorers):
    page = explorers["page"]
    explorer = root(page, "test-next-word")
    prompt_box = explorer.locator("textarea").first
    button = explorer.locator("button").filter(has_text=re.compile(r"^\s*sample\s*$"))
    with shot_on_failure(page, "next-word-sample"):
        title = explorer.locator(".gtitle").first
        before, title_before = prompt_box.input_value(), title.text_content()
        button.click()
        after = wait_until_changed(page, prompt_box.input_value, before, 30, "the prompt after clicking 'sample'")
        assert after.startswith(before) and len(after) > len(before), (before, after)
        wait_until_changed(page, title.text_content, title_before, 20, "the chart title (naming the drawn token)")
    screenshot(explorer, "next-word-after-sample")


def heatmap_image(explorer):
    """The rendered heatmap picture (plotly draws a heatmap as one image with a data URL)."""
    return explorer.evaluate("""(root) => {
        const img = root.querySelector('.heatmaplayer image, .hm image');
        return img ? (img.getAttribute('href') || img.getAttribute('xlink:href') || '') : '';
    }""")


def test_attention_heatmap_is_drawn_and_changes_with_the_head(explorers):
    page = explorers["page"]
    explorer = root(page, "test-attention")
    with shot_on_failure(page, "attention"):
        before = wait_until(page, lambda: heatmap_image(explorer), DRAW_TIMEOUT_S, "attention heatmap: not drawn")
        assert before.startswith("data:image"), before[:80]
        screenshot(explorer, "attention-head-0")
        head = explorer.locator(".widget-dropdown").filter(has=page.locator("label", has_text=re.compile(r"^\s*head")))
        head.locator("select").select_option(label="head 1")
        wait_until_changed(page, lambda: heatmap_image(explorer), before, 20,
                           "the heatmap after choosing head 1")
        wait_until(page, lambda: "head 1" in (explorer.locator(".gtitle").first.text_content() or ""), 20,
                   "the heatmap title to say head 1")
    screenshot(explorer, "attention-head-1")


def test_chat_widget_answers_a_message(explorers):
    page = explorers["page"]
    chat = root(page, "test-chat")
    with shot_on_failure(page, "chat"):
        box = chat.locator("input[type=text]").first
        box.fill("Who wrote Hamlet?")
        chat.locator("button").filter(has_text=re.compile(r"^\s*Send\s*$")).click()
        # The conversation shows the message (an input box's text is not part of innerText) and a reply.
        try:
            wait_until(page, lambda: "assistant" in chat.inner_text() and "Who wrote Hamlet?" in chat.inner_text(),
                       90, "the chat to show the message and an answer")
        except AssertionError as e:
            raise AssertionError(f"{e}; the widget shows:\n{chat.inner_text()}") from None
        assert box.input_value() == "", "the message box should be emptied after sending"
    screenshot(chat, "chat-answer")


# ---------------------------------------------------------------------------------------------
# Offline: JupyterLab and the explorers asked no other host for anything
# ---------------------------------------------------------------------------------------------

def test_explorers_need_no_internet(explorers):
    assert_offline(explorers["context"], "JupyterLab running explorers.ipynb")
