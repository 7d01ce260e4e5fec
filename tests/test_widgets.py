"""The explorers, driven through their Python API (no browser): what a learner's clicks do."""
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from course_lib.widgets import (
    AttentionExplorer, EmbeddingExplorer, NextWordExplorer, ScaleCalculator, TokenViewer, TrainingDashboard,
)
from course_lib.widgets.base import plain_text
from course_lib.widgets.style import CHOSEN, message_html, visible_token


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bpe_tokenizer():
    from tests.conftest import SMALL_TEXT
    from course_lib.tokenizer import BPETokenizer

    return BPETokenizer.train(SMALL_TEXT, 300)


@pytest.fixture
def bpe_model(bpe_tokenizer):
    from course_lib.model import GPT, GPTConfig

    torch.manual_seed(0)
    config = GPTConfig(vocab_size=bpe_tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32)
    return GPT(config).eval()


# -- style ---------------------------------------------------------------------------------------

def test_visible_token():
    assert visible_token(" to be\n") == "·to·be↵"
    assert visible_token("\t") == "→"
    assert visible_token("") == "∅"
    assert visible_token("\x07") == "\\x07"
    assert "⚠" in message_html("bad") and message_html("") == ""


# -- next-word explorer ----------------------------------------------------------------------------

def test_next_word_temperature_flattens_and_zero_is_greedy(tiny_model, char_tokenizer):
    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be")
    top = {}
    for t in (0.5, 1.0, 2.0):
        explorer.temperature = t
        top[t] = explorer.bars()[0][1]
    assert top[0.5] > top[1.0] > top[2.0]
    assert explorer.forward_passes == 1  # the sliders never rerun the model
    explorer.temperature = 0
    assert len(explorer.bars()) == 1 and explorer.bars()[0][1] == pytest.approx(1.0)
    assert explorer.rest_probability == pytest.approx(0.0, abs=1e-6)
    greedy = int(torch.argmax(explorer._logits("To be")))
    assert explorer.bars()[0][0] == char_tokenizer.token_text(greedy)


def test_next_word_bars_match_the_library(tiny_model, char_tokenizer):
    from course_lib.sampling import next_token_distribution

    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be", n_bars=5)
    probs = next_token_distribution(tiny_model, char_tokenizer, "To be")
    values, ids = torch.topk(probs, 5)
    assert [p for _, p in explorer.bars()] == pytest.approx(values.tolist(), abs=1e-6)
    assert [t for t, _ in explorer.bars()] == [char_tokenizer.token_text(i) for i in ids.tolist()]
    assert explorer.rest_probability == pytest.approx(1 - values.sum().item(), abs=1e-5)
    labels = list(explorer.fig.layout.yaxis.ticktext)
    assert all(" " not in label[:1] and "\n" not in label for label in labels[:-1])  # spaces/newlines visible
    assert labels[-1].startswith("other")


def test_next_word_top_k_and_top_p(tiny_model, char_tokenizer):
    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be")
    explorer.top_k = 1
    assert len(explorer.bars()) == 1 and explorer.bars()[0][1] == pytest.approx(1.0)
    explorer.top_k = 3
    assert len(explorer.bars()) == 3 and sum(p for _, p in explorer.bars()) == pytest.approx(1.0, abs=1e-5)
    explorer.top_k = None
    explorer.top_p = 0.1
    few = len(explorer.bars())
    explorer.top_p = None
    assert few < len(explorer.bars())
    assert explorer.forward_passes == 1


def test_next_word_sampling_is_reproducible(tiny_model, char_tokenizer):
    a = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be", seed=7)
    b = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be", seed=7)
    draws_a = [a.sample() for _ in range(5)]
    draws_b = [b.sample() for _ in range(5)]
    assert draws_a == draws_b and a.prompt == b.prompt
    assert a.prompt == "To be" + "".join(t for _, t in draws_a)
    # The drawn token is highlighted in the chosen colour.
    colours = list(a.fig.data[0].marker.color)
    assert colours.count(CHOSEN) == 1
    assert a.bars()[colours.index(CHOSEN)][0] == draws_a[-1][1]
    # Undo takes back the prompt and the dice: the same token comes again.
    a.undo()
    assert a.prompt == "To be" + "".join(t for _, t in draws_a[:-1])
    assert a.sample() == draws_a[-1]
    a.reset()
    assert a.prompt == "To be" and [a.sample() for _ in range(5)] == draws_a


def test_next_word_n_answers(tiny_model, char_tokenizer):
    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be", seed=3)
    answers = explorer.answers(3, max_new_tokens=6)
    assert len(answers) == 3 and explorer.answers(3, max_new_tokens=6) == answers
    assert len(set(answers)) > 1  # different seeds, different continuations
    assert "3 answers" in plain_text(explorer.answers_area.value)
    explorer.temperature = 0
    assert len(set(explorer.answers(2, max_new_tokens=6))) == 1  # greedy: always the same


def test_next_word_bad_input_shows_a_message_and_recovers(tiny_model, char_tokenizer):
    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be")
    explorer.prompt = ""
    assert "empty" in explorer.message
    assert explorer.sample() is None
    explorer.prompt = "To be 😀"
    assert "unknown character" in explorer.message and "😀" in plain_text(explorer.message_area.value)
    explorer.prompt = "To be, or not"
    assert explorer.message == "" and explorer.bars()
    explorer.prompt = "To be, or not to be " * 3  # longer than the context of 32: cropped, with a note
    assert "context" in explorer.message and explorer.bars()


# -- attention explorer ----------------------------------------------------------------------------

def test_attention_rows_sum_to_one_and_the_future_is_masked(tiny_model, char_tokenizer):
    explorer = AttentionExplorer(tiny_model, char_tokenizer, text="To be, or not to be")
    T = len("To be, or not to be")
    for layer in range(2):
        for head in range(2):
            explorer.layer, explorer.head = layer, head
            pattern = explorer.pattern
            assert pattern.shape == (T, T)
            assert np.allclose(pattern.sum(1), 1.0, atol=1e-5)
            assert np.all(np.triu(pattern, k=1) == 0)
            z = explorer.heatmap_z()
            assert np.all(np.isnan(z[np.triu_indices(T, 1)]))  # drawn grey
            assert np.allclose(z[np.tril_indices(T)], pattern[np.tril_indices(T)], atol=1e-4)  # drawn to 4 places
    trace = tiny_model.trace(torch.tensor([char_tokenizer.encode("To be, or not to be")]))
    assert np.allclose(explorer.pattern, trace.attn_pattern[1, 0, 1].numpy(), atol=1e-6)
    assert explorer.forward_passes == 1  # layers and heads come from one trace


def test_attention_patterns_equal_the_models_trace(tiny_model, char_tokenizer):
    from course_lib.widgets.attention import LayerByLayer, attention_patterns

    idx = torch.tensor([char_tokenizer.encode("To be, or not to be")])
    expected = tiny_model.trace(idx).attn_pattern[:, 0]
    assert torch.allclose(attention_patterns(tiny_model, idx), expected, atol=1e-6)
    lazy = LayerByLayer(tiny_model, idx)
    assert len(lazy.upto(0)) == 1  # layer 0 needs only the first block
    assert np.allclose(lazy.upto(1)[1], expected[1].numpy(), atol=1e-6)


def test_attention_query_row_and_grid(tiny_model, char_tokenizer):
    explorer = AttentionExplorer(tiny_model, char_tokenizer, text="To be, or not")
    # No token chosen yet: the menu says so (not a blank menu), and the row chart is empty.
    assert explorer.query is None and explorer.query_dropdown.label == "(none)"
    assert explorer.row_weights() == [] and explorer.row_fig.layout.xaxis.showticklabels is False
    explorer.query = 4
    assert explorer.row_weights() == pytest.approx(explorer.pattern[4, :5].tolist(), abs=1e-4)
    assert explorer.fig.layout.shapes[0].y0 == 3.5  # the row is outlined
    assert "position 4" in explorer.row_fig.layout.title.text
    assert explorer.grid_fig is None  # made only when the grid is first shown
    explorer.head = "all"
    assert len(explorer.grid_fig.data) == 2 and explorer.single_box.layout.display == "none"
    assert len(explorer.grid_fig.layout.shapes) == 2
    # Clicking a cell of head 1's grid opens that head with that row chosen.
    from plotly.callbacks import Points

    assert list(explorer.fig.layout.xaxis.ticktext) == [visible_token(c) for c in "To be, or not"]
    explorer._on_click_grid(1, Points(point_inds=[[6, 2]], xs=[2], ys=[6]))
    assert explorer.head == 1 and explorer.query == 6
    explorer._on_click_single(explorer.fig.data[0], Points(point_inds=[[2, 1]], xs=[1], ys=[2]), None)
    assert explorer.query == 2


def test_attention_bad_input(tiny_model, char_tokenizer):
    explorer = AttentionExplorer(tiny_model, char_tokenizer, text="To be")
    explorer.text = ""
    assert "empty" in explorer.message
    explorer.text = "To be " * 10  # 60 tokens, context 32
    assert "32" in explorer.message and "context" in explorer.message
    explorer.text = "To be?"  # '?' is not in the small text
    assert "unknown character" in explorer.message
    explorer.text = "To be or"
    assert explorer.message == "" and explorer.pattern.shape == (8, 8)
    with pytest.raises(ValueError, match="layer must be"):
        explorer.layer = 5


# -- embedding explorer ----------------------------------------------------------------------------

def test_embedding_neighbours_are_sorted_by_cosine(tiny_model, char_tokenizer):
    explorer = EmbeddingExplorer(tiny_model, char_tokenizer, n_neighbours=6)
    explorer.token = "e"
    me = char_tokenizer.encode("e")[0]
    assert explorer.token_id == me
    cosines = [c for _, _, c in explorer.neighbours]
    assert len(cosines) == 6 and cosines == sorted(cosines, reverse=True)
    E = tiny_model.tok_emb.weight.detach()
    for token_id, text, c in explorer.neighbours:
        assert token_id != me and text == char_tokenizer.token_text(token_id)
        assert c == pytest.approx(torch.cosine_similarity(E[me], E[token_id], dim=0).item(), abs=1e-5)
    best = max((i for i in explorer.shown_ids if i != me),
               key=lambda i: torch.cosine_similarity(E[me], E[i], dim=0).item())
    assert explorer.neighbours[0][0] == best


def test_embedding_projection(tiny_model, char_tokenizer):
    explorer = EmbeddingExplorer(tiny_model, char_tokenizer)
    n = len(explorer.shown_ids)
    assert explorer.coords.shape == (n, 2)
    assert np.allclose(explorer.coords.mean(0), 0, atol=1e-4)  # centred
    assert explorer.explained_variance[0] >= explorer.explained_variance[1]
    explorer.dims = 3
    assert explorer.coords.shape == (n, 3) and explorer.fig.data[0].type == "scatter3d"
    variances = explorer.coords.var(0)
    assert variances[0] >= variances[1] >= variances[2]
    assert explorer.fig.data[2].marker.color == CHOSEN  # the typed token


def test_embedding_whole_words_with_bpe(bpe_model, bpe_tokenizer):
    explorer = EmbeddingExplorer(bpe_model, bpe_tokenizer, whole_words=True)
    assert explorer.message == ""
    texts = [bpe_tokenizer.token_text(i) for i in explorer.shown_ids]
    assert texts and all(t.startswith(" ") and t[1:].isalpha() for t in texts)
    explorer.token = "be"  # found as ' be'
    assert bpe_tokenizer.token_text(explorer.token_id) == " be"
    assert all(t.startswith(" ") for _, t, _ in explorer.neighbours)


def test_embedding_bad_input(tiny_model, char_tokenizer):
    explorer = EmbeddingExplorer(tiny_model, char_tokenizer)
    explorer.token = "To"
    assert "not a single token" in explorer.message
    explorer.token = ""
    assert "Type a token" in explorer.message
    explorer.whole_words = True  # a character tokenizer has no whole words: all tokens, with a note
    assert "no whole-word tokens" in explorer.message
    explorer.token = "a"
    assert explorer.neighbours and explorer.token_id == char_tokenizer.encode("a")[0]


# -- training dashboard ----------------------------------------------------------------------------

def _events(n):
    for step in range(1, n + 1):
        yield {"kind": "step", "step": step, "tokens": step * 64, "elapsed": step * 0.01,
               "train_loss": 4.0 - step * 0.01, "val_loss": None, "tokens_per_s": 6400.0}


def test_dashboard_accepts_events_and_throttles():
    dashboard = TrainingDashboard(min_interval=3600, vocab_size=40)
    for event in _events(100):
        dashboard.callback(event)
    assert dashboard.redraws == 1  # the first event draws, then the throttle holds
    dashboard({"kind": "eval", "step": 100, "tokens": 6400, "val_loss": 3.2})
    dashboard({"kind": "sample", "step": 100, "sample": "ROMEO:\nHello"})
    assert "ROMEO:\nHello" in plain_text(dashboard.sample_area.value)
    dashboard({"kind": "end", "step": 100, "status": "done", "steps": 100})
    assert dashboard.redraws == 2
    train, val, speed = dashboard.fig.data
    assert len(train.y) == 100 and train.y[-1] == pytest.approx(3.0)
    assert list(val.y) == [3.2] and speed.y[-1] == 6400.0
    assert dashboard.stats["tokens"] == 6400 and "finished" in dashboard.fig.layout.title.text


def test_dashboard_survives_bad_events_and_thins_long_runs():
    dashboard = TrainingDashboard(min_interval=0, max_points=50)
    dashboard.callback("not an event")
    assert "could not read" in dashboard.message
    for event in _events(300):
        dashboard.callback(event)
    assert len(dashboard.history["train_loss"]) == 300
    assert len(dashboard.fig.data[0].x) <= 51 and dashboard.fig.data[0].x[-1] == 300


def test_dashboard_with_the_trainer(char_tokenizer, small_text):
    train = pytest.importorskip("course_lib.train")
    ids = torch.tensor(char_tokenizer.encode(small_text))
    config = train.TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, max_steps=6,
                               warmup_steps=1, eval_interval=3, eval_batches=1, sample_interval=3, sample_tokens=10,
                               device="cpu")
    dashboard = TrainingDashboard(min_interval=0)
    train.Trainer(config, ids[:800], ids[800:], tokenizer=char_tokenizer, callbacks=[dashboard.callback],
                  progress=False).fit()
    assert len(dashboard.history["train_loss"]) == 6 and dashboard.history["val_loss"]
    assert dashboard.latest_sample is not None and dashboard.finished is not None


# -- scale calculator ----------------------------------------------------------------------------

def test_scale_calculator_presets_reproduce_the_figures():
    calc = ScaleCalculator(our_params=1e6, our_train_tokens=5e7, our_corpus_tokens=3e5)
    calc.preset = "GPT-3's whole dataset (3Blue1Brown: 2,600+ years)"
    assert calc.reading_years > 2600
    assert "2,848" in plain_text(calc.reading_area.value)
    calc.preset = "Llama 3.1 405B (3Blue1Brown: 100 million+ years)"
    assert calc.compute_years > 1e8
    assert "1.2 billion" in plain_text(calc.compute_area.value)
    labels = [p[0] for p in calc.points()]
    assert {"GPT-3", "Llama 3.1 405B", "our model", "your settings"} <= set(labels)


def test_scale_calculator_ignores_the_browsers_rounding():
    calc = ScaleCalculator()
    exact = calc.reading_years
    slider = calc.read_tokens_slider
    slider.value = 10 ** round(math.log10(calc.read_tokens), 3)  # what the browser's slider sends back
    assert calc.preset.startswith("GPT-3") and calc.reading_years == exact
    slider.value = 1e12  # a real move
    assert calc.preset == "(your own settings)" and calc.read_tokens == 1e12


def test_scale_calculator_sliders_and_points():
    calc = ScaleCalculator()
    calc.words_per_minute = 500
    assert calc.preset == "(your own settings)"
    assert calc.reading_years == pytest.approx(2848.17 / 2, rel=1e-3)
    calc.params = 1e9
    calc.train_tokens = 1e10
    assert calc.compute_years == pytest.approx(6e19 / 1e9 / (365 * 24 * 3600))
    calc.add_point("a friend's model", tokens=1e9, params=3e7)
    assert ("a friend's model", 1e9, 3e7) in calc.points()
    with pytest.raises(ValueError):
        calc.add_point("bad", tokens=-1, params=3)


# -- token viewer ----------------------------------------------------------------------------

def test_token_viewer(bpe_tokenizer, char_tokenizer):
    viewer = TokenViewer(bpe_tokenizer, text="To be, or not\nto be")
    assert viewer.tokens == bpe_tokenizer.pieces("To be, or not\nto be")
    assert "·be" in viewer.html and "↵" in viewer.html
    assert str(viewer.tokens[0][0]) in viewer.html
    assert "tokens" in viewer.summary
    char_viewer = TokenViewer(char_tokenizer, text="To be")
    char_viewer.text = "To be?"
    assert "unknown character" in char_viewer.message
    char_viewer.text = ""
    assert "empty" in char_viewer.message
    char_viewer.text = "be"
    assert char_viewer.message == "" and len(char_viewer.tokens) == 2


# -- all of them ----------------------------------------------------------------------------

def test_every_widget_displays_and_has_a_static_copy(tiny_model, char_tokenizer):
    widgets = [
        NextWordExplorer(tiny_model, char_tokenizer, prompt="To be"),
        AttentionExplorer(tiny_model, char_tokenizer, text="To be"),
        EmbeddingExplorer(tiny_model, char_tokenizer),
        TrainingDashboard(),
        ScaleCalculator(),
    ]
    for w in widgets:
        bundle = w._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        static = w.static()
        assert isinstance(static, go.Figure) and not isinstance(static, go.FigureWidget)
        assert static.layout.title.text  # every chart has a title
    viewer = TokenViewer(char_tokenizer, text="To be")
    assert "To" in viewer.static().data or "T" in viewer.static().data
    assert math.isfinite(widgets[0].bars()[0][1])
    from course_lib.widgets.base import snapshots

    page = snapshots(widgets[0], viewer, include_plotlyjs=False).data
    assert "Plotly.newPlot" in page and "·" in page  # the bar chart, then the chips
