"""Class mode in a real browser: the Voila app renders its explorers, shows no code, reacts to a slider.

Starts `voila class_mode/class_mode.ipynb` (what `make class-mode` runs) on 127.0.0.1 and a
free port, opens it in headless Chromium and checks: the tabs and the next-word chart
appear; no source code and no error is on the page; typing a temperature into the
slider's readout changes the bars; the Attention tab builds its explorer when opened and
draws the heatmap; the buttons' icons (FontAwesome) come from this machine, and the page asks
no other host for anything. Screenshots: test-output/browser/class-mode-*.png.
"""
import pytest

from browser_helpers import (
    DRAW_TIMEOUT_S, REPO, ConsoleLog, assert_offline, bar_signature, new_context, record_first_chart, screenshot,
    set_slider_by_readout, shot_on_failure, wait_until, wait_until_changed,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = REPO / "class_mode" / "class_mode.ipynb"
PAGE_TIMEOUT_MS = 240_000  # Voila runs the notebook (imports, two models) before the tabs appear

# An icon's font (FontAwesome draws it in ::before) and the FontAwesome fonts the page loaded.
ICON_JS = """(root) => {
  const icon = root.querySelector('button i.fa');
  if (!icon) return null;
  const before = getComputedStyle(icon, '::before');
  const loaded = Array.from(document.fonts).filter(f => /awesome/i.test(f.family) && f.status === 'loaded');
  return {family: before.fontFamily, content: before.content, loaded: loaded.map(f => f.family)};
}"""


def page_errors(page) -> list:
    """Error outputs and explorers that could not start, as the page shows them."""
    return page.evaluate("""() => {
        const bad = [];
        document.querySelectorAll('.jp-OutputArea-output').forEach(o => {
            const t = o.innerText || '';
            if (o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr' && /Error|Traceback/.test(t))
                bad.push(t.slice(0, 500));
            if (/could not start|Error displaying widget|Failed to load model class/.test(t)) bad.push(t.slice(0, 500));
        });
        return bad;
    }""")


def test_class_mode_renders_and_reacts(browser, voila):
    context = new_context(browser)
    page = context.new_page()
    console = ConsoleLog(page)
    try:
        with shot_on_failure(page, "class-mode"):
            page.goto(voila.url + "/", wait_until="commit", timeout=60_000)
            tabs = page.locator(".class-mode-tabs")
            tabs.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
            bars = wait_until(page, lambda: bar_signature(tabs), PAGE_TIMEOUT_MS / 1000,
                              "class mode: the next-word chart has no bars")
            assert len(bars) >= 5, bars
            record_first_chart(page, "Voila class mode, Next word tab")

            # No code on the page, no error.
            code = page.locator(".jp-CodeCell .jp-InputArea, .jp-CodeMirrorEditor, .cm-editor")
            assert code.count() == 0, "code cells are shown"
            body = page.inner_text("body")
            assert "load_pretrained" not in body and "import torch" not in body, "source code is shown"
            assert not page_errors(page), page_errors(page)
            titles = tabs.locator(".lm-TabBar-tab").all_inner_texts()
            for title in ("Next word", "Sampling", "Attention", "Embeddings", "Chat", "Preferences"):
                assert any(title in t for t in titles), (title, titles)
            screenshot(page, "class-mode-next-word")

            # The buttons' icons: FontAwesome, served by Voila itself (no CDN).
            icon = wait_until(page, lambda: (lambda i: i if i and i["loaded"] else None)(tabs.evaluate(ICON_JS)),
                              30, f"class mode: FontAwesome loaded for the buttons' icons ({tabs.evaluate(ICON_JS)})")
            assert "awesome" in icon["family"].lower(), icon
            assert icon["content"] not in ("none", "normal", '""'), icon
            screenshot(tabs.locator("button:has(i.fa)").first, "class-mode-icon")

            # The temperature slider (typed into its readout) redraws the bars.
            slider = tabs.locator(".widget-slider").filter(
                has=page.locator(".widget-label", has_text="temperature")).first
            set_slider_by_readout(slider, "0.30")
            wait_until_changed(page, lambda: bar_signature(tabs), bars, 30,
                               "class mode: the bars after typing 0.30 into the temperature readout")
            screenshot(page, "class-mode-temperature-0.30")

            # Another tab builds its explorer when opened.
            tabs.locator(".lm-TabBar-tab").filter(has_text="Attention").click()
            wait_until(page, lambda: tabs.evaluate(
                "(r) => !!r.querySelector('.heatmaplayer image, .hm image')"), DRAW_TIMEOUT_S + 60,
                "class mode: the Attention tab shows no heatmap")
            assert not page_errors(page), page_errors(page)
            screenshot(page, "class-mode-attention")
        assert_offline(context, "class mode")
    except Exception as e:
        raise AssertionError(f"{e}\n--- browser console ---\n{console.tail()}\n--- voila log ---\n"
                             f"{voila.log_tail(2000)}") from e
    finally:
        context.close()
