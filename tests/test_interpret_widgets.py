"""The logit-lens explorer and the neuron browser, driven through their Python API."""
import plotly.graph_objects as go
import pytest
import torch

from course_lib import interpret
from course_lib.widgets import LogitLensExplorer, NeuronBrowser
from course_lib.widgets.base import plain_text, snapshots
from course_lib.widgets.style import visible_token


pytestmark = pytest.mark.usefixtures("one_thread")


def test_logit_lens_explorer_draws_the_lens(tiny_model, char_tokenizer):
    lens = LogitLensExplorer(tiny_model, char_tokenizer, text="To be, or")
    expected = interpret.logit_lens(tiny_model, char_tokenizer, "To be, or")
    assert torch.allclose(torch.tensor(lens.heatmap_z()), expected.top_probs, atol=1e-4)
    assert lens.cell_text()[-1] == [visible_token(t) for t in expected.top_tokens[-1]]
    real = tiny_model(torch.tensor([char_tokenizer.encode("To be, or")]))[0][0].argmax(-1)
    assert expected.top_ids[-1].tolist() == real.tolist()  # the top row is the model's own prediction
    assert "real prediction" in lens.static().layout.title.text
    assert isinstance(lens.static(), go.Figure) and not isinstance(lens.static(), go.FigureWidget)
    assert "application/vnd.jupyter.widget-view+json" in lens._repr_mimebundle_()


def test_logit_lens_explorer_messages(tiny_model, char_tokenizer):
    lens = LogitLensExplorer(tiny_model, char_tokenizer, text="To be", max_tokens=6)
    lens.text = ""
    assert "empty" in lens.message
    lens.text = "To be, or not to be"
    assert "last 6 of 19 tokens" in lens.message
    assert len(lens.heatmap_z()[0]) == 6
    lens.text = "To"
    assert lens.message == "" and len(lens.heatmap_z()[0]) == 2


def test_neuron_browser_shows_the_strongest_activations(tiny_model, char_tokenizer, small_text):
    windows = interpret.val_windows(char_tokenizer, n=3, length=20, ids=char_tokenizer.encode(small_text))
    browser = NeuronBrowser(tiny_model, char_tokenizer, windows, layer=1, neuron=5, k=4)
    top = interpret.top_activations(tiny_model, windows, 1, 5, k=4)
    assert [s[0] for s in browser.snippets] == pytest.approx([v for v, _, _ in top])
    assert [s[2] for s in browser.snippets] == [char_tokenizer.decode([int(windows[b, t])]) for _, b, t in top]
    assert "Layer 1, neuron 5" in plain_text(browser.summary_area.value)
    browser.neuron = 10_000  # out of range: a message, not a traceback
    assert "neuron must be" in browser.message and browser.snippets == []
    browser.neuron = 6
    assert browser.message == "" and len(browser.snippets) == 4
    browser.layer = 0
    assert len(browser.snippets) == 4
    with pytest.raises(ValueError):
        browser.layer = 7
    page = snapshots(browser, include_plotlyjs=False).data
    assert "neuron 6" in page and "<b style" in page


def test_induction_chart_draws_each_measurement():
    from course_lib import induction
    from course_lib.widgets import InductionChart

    config = induction.InductionConfig()
    chart = InductionChart(config)
    assert len(chart.fig.data) == 2 + config.n_head and chart.steps_drawn == []
    scores = [[0.1] * config.n_head, [0.2, 0.9] + [0.0] * (config.n_head - 2)]
    for step in (0, 20):
        chart.record({"step": step, "first_copy_loss": 4.1, "second_copy_loss": 4.0 - step / 10, "scores": scores})
    assert chart.steps_drawn == [0, 20]
    assert list(chart.fig.data[1].y) == [4.0, 2.0] and list(chart.fig.data[3].y) == [0.9, 0.9]
    chart.record({"step": 40})  # a bad entry is a message, not a traceback
    assert "first_copy_loss" in chart.message
    assert chart.static().data[1].y == chart.fig.data[1].y
    with pytest.raises(ValueError, match="layer"):
        InductionChart(config, layer=5)
