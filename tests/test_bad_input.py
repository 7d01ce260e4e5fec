"""Careful-user probes (issue "Nothing lost, every bad input a clear error"): each case used to
give a raw traceback, a silent wrong result or a stuck widget."""
import pytest
import torch


def test_dashboard_drops_its_error_note_once_good_events_arrive():
    from course_lib.widgets import TrainingDashboard

    dash = TrainingDashboard(min_interval=0)
    dash.callback("not an event")
    assert "could not read an event" in dash.message
    dash.callback({"kind": "step", "step": 1, "tokens": 32, "elapsed": 0.1, "train_loss": 4.0})
    assert dash.message == ""
    assert dash.history["train_loss"] == [4.0]


def test_token_viewer_caps_what_it_draws_and_says_so(char_tokenizer, small_text):
    from course_lib.widgets import TokenViewer

    text = (small_text * 100)[:100_000]
    viewer = TokenViewer(char_tokenizer, text=text)
    assert len(viewer.tokens) == 100_000  # the counts cover the whole text
    assert "100,000 tokens" in viewer.summary
    assert len(viewer.html) < 2_000_000  # was 23 MB for 100k characters
    assert "98,000 more tokens, not drawn" in viewer.html
    short = TokenViewer(char_tokenizer, text="To be")
    assert "not drawn" not in short.html


# -- chat context, temperatures, sampling arguments, widgets, preference store -------------
# (issue 13 points 3, 4 and the sampling/widget parts of 7)

def test_chat_widget_never_gets_stuck_when_answers_are_long(make_chat_model, chat_tokenizer):
    from course_lib.widgets.chat import ChatWidget

    model = make_chat_model()  # context 256
    w = ChatWidget(model, chat_tokenizer, temperature=1.0, seed=0, max_new_tokens=150)
    for i in range(10):  # the 4th to 10th message used to fail with "... exceeds the context"
        w.message_box.value = f"Hello, this is message number {i}! What is 2 plus 3?"
        w._on_send()
        assert len(w.history) == 2 * (i + 1), w.message
        assert w.history[-1]["role"] == "assistant"
    assert w.fit["dropped_turns"] > 0
    assert "did not see the" in w.message and "earliest messages" in w.message  # the widget says so
    assert "message number 0" in w.history[0]["content"]  # the history shown stays whole
    w.regenerate()
    assert "did not see" in w.message


def test_long_chat_histories_fit_with_room_for_the_whole_answer(chat_tokenizer):
    from course_lib import chat as C

    history = []
    for i in range(30):
        history += [("user", f"Hello {i}!"), ("assistant", "Hi! How can I help?")]
    history.append(("user", "Who wrote Hamlet?"))
    for new in (0, 20, 128, 150, 200):
        ids, fit = C.fit_prompt(history, chat_tokenizer, 256, new)
        assert len(ids) + new <= 256
        text = chat_tokenizer.decode(ids)
        assert text.endswith("<|user|>Who wrote Hamlet?<|end|><|assistant|>")
        assert fit["dropped_turns"] > 0
        assert fit["dropped_system"] == (not text.startswith("<|system|>" + C.SYSTEM_PROMPT))
    ids, fit = C.fit_prompt(history, chat_tokenizer, 256, 252)  # the most allowed: 4 tokens of prompt
    assert len(ids) == 4 and chat_tokenizer.decode(ids).startswith("<|user|>") and fit["cropped_tokens"]
    # One over-long message: the system line goes, then the message keeps its role token and its end.
    long = "Hello! " * 300 + "Who wrote Hamlet?"
    ids, fit = C.fit_prompt(long, chat_tokenizer, 256, 150)
    assert len(ids) == 106 and fit["dropped_system"] and fit["cropped_tokens"] > 0
    text = chat_tokenizer.decode(ids)
    assert text.startswith("<|user|>") and text.endswith("Who wrote Hamlet?<|end|><|assistant|>")
    with pytest.raises(ValueError, match="allowed: 0 to 252"):
        C.prompt_ids("Hello!", chat_tokenizer, 256, 253)


def test_chat_answers_are_never_cut_short_by_the_context(make_chat_model, chat_tokenizer):
    from course_lib import chat as C

    model = make_chat_model()
    answer = C.chat(model, chat_tokenizer, "Hello! " * 400, max_new_tokens=150, seed=0)  # used to raise
    assert isinstance(answer, str)


@pytest.mark.parametrize("temperature", [1e-40, 1e-30, 1e-38, 5e-324, 1e-300])
def test_tiny_temperatures_are_greedy_never_nan(tiny_model, char_tokenizer, temperature):
    from course_lib.sampling import generate, probs_from_logits

    logits = torch.tensor([[1.0, 3.0, 2.0, -50.0], [100.0, -100.0, 0.0, 99.0]])
    probs = probs_from_logits(logits, temperature=temperature)
    assert torch.isfinite(probs).all()
    assert torch.equal(probs, probs_from_logits(logits, temperature=0))
    model_logits = tiny_model(torch.tensor([char_tokenizer.encode("To be")]))[0][0, -1] * 1000
    assert torch.equal(probs_from_logits(model_logits, temperature), probs_from_logits(model_logits, 0))
    assert (generate(tiny_model, char_tokenizer, "To be", 12, temperature=temperature, seed=1)
            == generate(tiny_model, char_tokenizer, "To be", 12, temperature=0, seed=1))
    # with top-k and top-p too
    assert torch.equal(probs_from_logits(logits, temperature, top_k=2, top_p=0.5), probs_from_logits(logits, 0))


def test_tiny_temperature_shares_exact_ties_and_leaves_other_rows_alone():
    from course_lib.sampling import probs_from_logits

    tie = probs_from_logits(torch.tensor([2.0, 2.0, 1.0]), temperature=1e-40)
    assert tie.tolist() == [0.5, 0.5, 0.0]  # the limit as the temperature goes to 0
    normal = torch.tensor([[1.0, 3.0, 2.0]])
    both = probs_from_logits(torch.cat([normal, torch.tensor([[1e3, 0.0, 0.0]])]), temperature=1e-36)
    assert torch.equal(both[:1], probs_from_logits(normal, temperature=1e-36))


@pytest.mark.parametrize("temperature", [1e30, 1e300, float("inf")])
def test_huge_temperatures_are_near_uniform(temperature):
    from course_lib.sampling import probs_from_logits

    probs = probs_from_logits(torch.tensor([1.0, 3.0, 2.0, -50.0]), temperature=temperature)
    assert torch.isfinite(probs).all()
    assert torch.allclose(probs, torch.full((4,), 0.25))


def test_tiny_temperatures_work_in_chat_and_the_widgets(tiny_model, char_tokenizer, make_chat_model, chat_tokenizer):
    from course_lib import chat as C
    from course_lib.widgets import NextWordExplorer
    from course_lib.widgets.chat import ChatWidget

    model = make_chat_model()
    assert (C.chat(model, chat_tokenizer, "Hello!", temperature=1e-40, max_new_tokens=6, seed=0)
            == C.chat(model, chat_tokenizer, "Hello!", temperature=0.0, max_new_tokens=6, seed=0))
    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be")
    explorer.temperature = 1e-40
    token_id, _ = explorer.sample()  # used to raise RuntimeError
    assert token_id == int(explorer._logits("To be").argmax()) and explorer.message == ""
    w = ChatWidget(model, chat_tokenizer, seed=0, max_new_tokens=6)
    w.temperature = 1e-40
    w.message_box.value = "Hello!"
    w._on_send()
    assert len(w.history) == 2 and w.message == ""


def test_widgets_show_any_error_as_a_message(tiny_model, char_tokenizer, make_chat_model, chat_tokenizer,
                                             monkeypatch):
    from course_lib.widgets import NextWordExplorer
    from course_lib.widgets import chat as chat_widget
    from course_lib.widgets import next_word

    def broken(*args, **kwargs):
        raise RuntimeError("the dice fell off the table")

    w = chat_widget.ChatWidget(make_chat_model(), chat_tokenizer, max_new_tokens=4)
    monkeypatch.setattr(chat_widget, "chat", broken)
    w.message_box.value = "Hello!"
    w._on_send()  # no traceback
    assert "RuntimeError" in w.message and "dice fell" in w.message
    assert w.history == [] and w.message_box.value == "Hello!"  # nothing half done, the message kept
    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be")
    monkeypatch.setattr(next_word, "sample_from", broken)
    assert explorer.sample() is None and "RuntimeError" in explorer.message
    assert explorer.prompt == "To be"
    monkeypatch.setattr(next_word, "generate", broken)
    assert explorer.answers(2, max_new_tokens=3) == [] and "RuntimeError" in explorer.message
    explorer._click(lambda: {}["missing"])  # a button whose action fails: a message, not a traceback
    assert "KeyError" in explorer.message


@pytest.mark.parametrize("bad", [2.5, "3", None, -5, True])
def test_max_new_tokens_must_be_a_whole_number_everywhere(tiny_model, char_tokenizer, make_chat_model,
                                                          chat_tokenizer, bad):
    from course_lib import chat as C
    from course_lib.sampling import generate, generate_ids, sample_batch

    model = make_chat_model()
    message = "max_new_tokens must be a whole number >= 0"
    with pytest.raises(ValueError, match=message):
        generate(tiny_model, char_tokenizer, "To be", bad)
    with pytest.raises(ValueError, match=message):
        generate_ids(tiny_model, torch.tensor([[1, 2]]), bad)
    with pytest.raises(ValueError, match=message):
        sample_batch(tiny_model, [[1, 2]], bad)
    with pytest.raises(ValueError, match=message):  # chat(max_new_tokens=-5) used to return ''
        C.chat(model, chat_tokenizer, "Hello!", max_new_tokens=bad)
    with pytest.raises(ValueError, match=message):
        C.answer_many(model, chat_tokenizer, ["Hello!"], max_new_tokens=bad)
    assert C.chat(model, chat_tokenizer, "Hello!", max_new_tokens=0) == generate(tiny_model, char_tokenizer, "To", 0)


@pytest.mark.parametrize("bad", [2**64, -1, 1.5, "7", True, 10**30])
def test_seeds_are_whole_numbers_below_2_to_the_64(tiny_model, char_tokenizer, make_chat_model, chat_tokenizer, bad):
    from course_lib import chat as C
    from course_lib.sampling import generate, make_generator, sample_batch

    message = r"seed must be a whole number from 0 to 2\*\*64 - 1, or None"
    for call in (lambda: make_generator(bad), lambda: generate(tiny_model, char_tokenizer, "To be", 3, seed=bad),
                 lambda: sample_batch(tiny_model, [[1, 2]], 3, seed=bad),
                 lambda: C.chat(make_chat_model(), chat_tokenizer, "Hello!", seed=bad)):
        with pytest.raises(ValueError, match=message):
            call()


def test_the_largest_seed_works_and_counted_seeds_wrap(tiny_model, char_tokenizer, make_chat_model, chat_tokenizer):
    from course_lib.sampling import generate, offset_seed
    from course_lib.widgets.chat import ChatWidget

    top = 2**64 - 1
    assert generate(tiny_model, char_tokenizer, "To be", 4, seed=top) == generate(tiny_model, char_tokenizer,
                                                                                   "To be", 4, seed=top)
    assert offset_seed(top, 1) == 0 and offset_seed(5, 2) == 7 and offset_seed(None, 3) is None
    w = ChatWidget(make_chat_model(), chat_tokenizer, seed=top, max_new_tokens=3)
    assert isinstance(w.send("Hello!"), str)  # draw 1 uses seed 0, not an overflow


@pytest.mark.parametrize("setting, value, message", [
    ("temperature", -1, "temperature must be a number >= 0"),
    ("temperature", 3.0, r"from 0 to 2.5 \(the slider's range\)"),
    ("temperature", float("nan"), "temperature"),
    ("top_k", -3, "top_k"),
    ("top_k", 1000, "from 1 to 42"),
    ("top_k", 2.5, "top_k"),
    ("top_p", 0, "top_p"),
    ("top_p", 0.01, r"from 0.05 to 1"),
    ("top_p", 2, "top_p"),
    ("seed", 2**70, "seed must be a whole number"),
    ("seed", -1, "seed must be a whole number"),
    ("seed", None, "seed must be a whole number"),
    ("prompt", 42, "prompt must be text"),
])
def test_next_word_setters_refuse_instead_of_clamping(tiny_model, char_tokenizer, setting, value, message):
    from course_lib.widgets import NextWordExplorer

    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be", temperature=0.5, top_k=5, top_p=0.9)
    before = (explorer.temperature, explorer.top_k, explorer.top_p, explorer.seed, explorer.prompt)
    with pytest.raises(ValueError, match=message):
        setattr(explorer, setting, value)
    assert (explorer.temperature, explorer.top_k, explorer.top_p, explorer.seed, explorer.prompt) == before
    assert explorer.message  # the widget says it too
    with pytest.raises(ValueError):
        NextWordExplorer(tiny_model, char_tokenizer, **{setting: value})


def test_next_word_valid_settings_and_a_bad_seed_typed_in_the_box(tiny_model, char_tokenizer):
    from course_lib.widgets import NextWordExplorer

    explorer = NextWordExplorer(tiny_model, char_tokenizer, prompt="To be", seed=3)
    explorer.top_k, explorer.top_p, explorer.temperature = 0, None, 2.5  # 0 and None mean off
    assert (explorer.top_k, explorer.top_p, explorer.temperature) == (None, None, 2.5)
    first = explorer.sample()
    explorer.undo()
    explorer.seed_box.value = -4  # what a learner may type: refused in the message area, the dice stay
    assert "seed must be a whole number" in explorer.message
    assert explorer.sample() == first
    with pytest.raises(ValueError, match="n .how many answers"):
        explorer.answers(0)


def test_preference_widget_keeps_the_label_when_the_file_cannot_be_written(tmp_path, make_chat_model,
                                                                             chat_tokenizer):
    from course_lib import rlhf
    from course_lib.widgets.preference import PreferenceWidget

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")  # the labels' folder is a file: no one can write there (not even root)
    w = PreferenceWidget(make_chat_model(), chat_tokenizer, prompts=["Hello!", "What is 2 plus 3?"],
                         path=blocker / "labels.jsonl", max_new_tokens=3)
    pair = dict(w.current)
    w._on_choose("a")  # used to raise from the button, and the pair was gone
    assert "Could not save your label" in w.message and str(blocker) in w.message
    assert w.current == pair
    with pytest.raises(OSError, match="Could not save your label"):
        w.choose("b")
    w.path = tmp_path / "labels.jsonl"
    w._on_choose("a")  # the retry saves the very same label
    saved = rlhf.load_preferences(w.path)
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in saved] == [(pair["prompt"], pair["a"], pair["b"])]
    assert w.message == ""


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), [1.0, float("nan")], object()])
def test_save_preference_refuses_what_json_cannot_hold(tmp_path, value):
    from course_lib import rlhf

    path = tmp_path / "labels.jsonl"
    record = rlhf.make_preference("p", "a", "b", "human", score=value)
    with pytest.raises(ValueError, match="field 'score'"):
        rlhf.save_preference(record, path)
    assert not path.exists() or path.read_text() == ""
    rlhf.save_preference(rlhf.make_preference("p", "a", "b", "human", score=1.5), path)
    assert rlhf.load_preferences(path)[0]["score"] == 1.5
    with pytest.raises(ValueError, match="is a dict"):
        rlhf.save_preference(["p", "a", "b"], path)


@pytest.mark.parametrize("make", ["tokens", "attention"])
def test_any_error_in_an_explorer_is_a_message(make, char_tokenizer, tiny_model, monkeypatch):
    from course_lib.widgets import AttentionExplorer, TokenViewer

    if make == "tokens":
        explorer = TokenViewer(char_tokenizer, text="To be")
        monkeypatch.setattr(char_tokenizer, "pieces", lambda text: 1 / 0)
        explorer.text = "To be or"
    else:
        explorer = AttentionExplorer(tiny_model, char_tokenizer, text="To be")
        monkeypatch.setattr(tiny_model, "trace", lambda *a, **k: 1 / 0)
        explorer.text = "To be or"
    assert "Unexpected error (ZeroDivisionError)" in explorer.message
