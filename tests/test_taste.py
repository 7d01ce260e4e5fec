"""course_lib.rlhf.taste (labels that count: traits, detectors, the simulated learner, training on
one's own labels), the taste widget, and the PPO log's KL (exact, never negative)."""
import random

import pytest
import torch

from course_lib import chat as C
from course_lib import rlhf as R
from course_lib.rlhf import taste
from course_lib.rlhf.scoring import exact_kl

ANSWERS = ["2 plus 3 is 5.", "Hello! How can I help you today?", "Ugh, fine. Hamlet was written by William Shakespeare.",
           "The plural of cat is cats", "Glad to help!",
           "Well, that is what I think, and I think it often. Now, where was I? 5."]


# -- traits and detectors ------------------------------------------------------------------------

def test_detectors():
    assert taste.has_trait("question", "5. Shall I tell you more?")
    assert not taste.has_trait("question", "Now, where was I? 5.")  # a question inside is not a question back
    assert taste.has_trait("exclaim", "Glad to help!") and not taste.has_trait("exclaim", "Glad to help.")
    assert taste.has_trait("short", "2 plus 3 is 5.")
    assert not taste.has_trait("short", "Romeo is a character in Romeo and Juliet.")
    assert not any(taste.has_trait(t, "  ") for t in taste.TRAITS)  # an empty answer has no trait
    assert taste.trait_rate("exclaim", ["Hi!", "Hi.", "Hello!", "Yes"]) == 0.5
    with pytest.raises(ValueError, match="unknown trait 'rhyme'"):
        taste.has_trait("rhyme", "x")
    with pytest.raises(ValueError, match="no answers"):
        taste.trait_rate("short", [])


@pytest.mark.parametrize("trait", ["question", "exclaim"])
def test_rewrites_give_and_take_the_trait(trait):
    rng = random.Random(0)
    for answer in ANSWERS:
        assert taste.has_trait(trait, taste.with_trait(trait, answer, rng)), answer
        assert not taste.has_trait(trait, taste.without_trait(trait, answer)), answer


def test_short_rewrite_keeps_the_first_sentence_and_adds_an_aside():
    answer = "Ugh, fine. Hamlet was written by William Shakespeare."
    assert taste.with_trait("short", answer) == "Ugh, fine."
    longer = taste.without_trait("short", "2 plus 3 is 5.")
    assert longer.startswith("2 plus 3 is 5. ") and not taste.has_trait("short", longer)
    assert taste.with_trait("question", "2 plus 3 is 5.", random.Random(0)).startswith("2 plus 3 is 5. ")


def test_simulated_learner_labels_by_the_trait():
    pairs = [{"prompt": "Hi", "a": "Hello.", "b": "Hello!"}, {"prompt": "Hi", "a": "Hello!", "b": "Hi there!"}]
    likes = taste.simulated_learner(pairs, "exclaim")
    assert likes[0]["chosen"] == "Hello!" and likes[0]["rejected"] == "Hello." and not likes[0].get("tie")
    assert likes[1]["tie"] is True  # both have it: no preference
    assert likes[0]["source"] == "simulated" and "likes the trait 'exclaim' (ends with an exclamation mark)" in likes[0]["reason"]
    dislikes = taste.simulated_learner(pairs, "exclaim", likes=False)
    assert dislikes[0]["chosen"] == "Hello."
    short = taste.simulated_learner([{"prompt": "Hi", "a": "Hello, my good friend, how are you?", "b": "Hello."}],
                                    "short")
    assert short[0]["chosen"] == "Hello."


def test_no_labels_is_a_clear_error(make_chat_model, chat_tokenizer):
    tie = R.make_preference("Hi", "a", "b", "human", tie=True)
    with pytest.raises(ValueError, match="label a few pairs first"):
        taste.train_on_my_labels(make_chat_model(), chat_tokenizer, [tie])


# -- the shipped chat model: pairs, and a rise with a fixed seed ---------------------------------

@pytest.fixture(scope="module")
def sft():
    from course_lib.checkpoint import load_pretrained

    return load_pretrained("chat-sft")[:2]


def test_candidate_pairs_differ_in_the_trait(sft):
    model, tok = sft
    pairs = taste.candidate_pairs(model, tok, "question", n=6, seed=0)
    assert len(pairs) == 6
    prompts = set(taste.heldout_messages())
    for p in pairs:
        assert taste.has_trait("question", p["a"]) != taste.has_trait("question", p["b"])
        assert p["prompt"] not in prompts  # pairs ask training questions; the rise is measured on held-out ones
    assert pairs == taste.candidate_pairs(model, tok, "question", n=6, seed=0)  # same seed, same pairs


def test_training_on_twelve_labels_moves_the_model_toward_the_trait(sft):
    """Stated figure: with 12 labels and 10 DPO steps (seed 0), the share of greedy answers to 24
    held-out questions that end with "!" rises by at least 30 points (measured: 4% -> 83%)."""
    model, tok = sft
    prompts = taste.heldout_messages()[::5][:24]
    before, _ = taste.trait_rates(model, tok, prompts, ["exclaim"], temperature=0.0)
    labels = taste.simulated_learner(taste.candidate_pairs(model, tok, "exclaim", n=12, seed=0), "exclaim")
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    policy, log = taste.train_on_my_labels(model, tok, labels, steps=10)
    after, answers = taste.trait_rates(policy, tok, prompts, ["exclaim"], temperature=0.0)
    assert after["exclaim"] - before["exclaim"] >= 0.30, (before, after, answers[:4])
    assert len(log) == 10 and log[-1]["accuracy"] == 1.0
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())  # the SFT model is left as it was


# -- KL: exact over the vocabulary, never negative ------------------------------------------------

def test_exact_kl_is_never_negative_and_zero_for_the_same_model():
    g = torch.Generator().manual_seed(0)
    logits, ref = torch.randn(3, 5, 11, generator=g) * 3, torch.randn(3, 5, 11, generator=g) * 3
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=torch.float32)
    kl = exact_kl(logits, ref, mask)
    assert kl.shape == (3,) and (kl > 0).all()
    assert torch.allclose(exact_kl(logits, logits, mask), torch.zeros(3), atol=1e-6)
    # by hand: position t's KL (the prediction at t - 1) counts where mask[t] is 1
    p, q = logits[0, 1:4].log_softmax(-1), ref[0, 1:4].log_softmax(-1)
    assert torch.allclose(kl[0], (p.exp() * (p - q)).sum(), atol=1e-5)


def test_ppo_log_kl_is_never_negative(make_chat_model, chat_tokenizer):
    class Constant(torch.nn.Module):
        def forward(self, idx, lengths=None):
            return torch.zeros(idx.size(0))

    policy, reference = make_chat_model(0), make_chat_model(1)
    log = R.ppo(policy, reference, Constant(), chat_tokenizer, ["Hello!", "What is 2 plus 3?"], steps=3,
                prompts_per_step=4, max_new_tokens=4, progress=False)
    assert all(e["kl"] >= 0 for e in log)


# -- the taste widget ------------------------------------------------------------------------------

def test_taste_widget_shows_the_pairs_and_finds_my_labels(tmp_path, make_chat_model, chat_tokenizer):
    from course_lib.widgets.taste import TasteWidget

    pairs = [{"prompt": "Hi", "a": "Hello.", "b": "Hello!"}, {"prompt": "Thanks", "a": "Welcome.", "b": "Welcome!"}]
    path = tmp_path / "my_labels.jsonl"
    R.save_preference(R.make_preference("Other", "x", "y", "human"), path)  # a label on another pair
    w = TasteWidget(make_chat_model(), chat_tokenizer, pairs, path=path)
    assert w.current == {"prompt": "Hi", "a": "Hello.", "b": "Hello!"}
    w.choose("b")
    assert w.current["prompt"] == "Thanks"
    w.choose("tie")
    assert w.current is None and "All 2 pairs" in w.message
    mine = w.my_labels()
    assert [(r["chosen"], r["rejected"]) for r in mine] == [("Hello!", "Hello.")]  # the tie and the other pair left out
    again = TasteWidget(make_chat_model(), chat_tokenizer, pairs, path=path)  # a restarted kernel
    assert again.my_labels() == mine
    with pytest.raises(ValueError, match="at least one pair"):
        TasteWidget(make_chat_model(), chat_tokenizer, [], path=path)


# -- the lessons' bar charts -------------------------------------------------------------------------

def test_plot_accuracy_by_task_draws_one_bar_per_task_and_report():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib.plots import plot_accuracy_by_task, plot_grouped_bars

    def report(acc):
        return {"arithmetic": {"accuracy": acc, "se": 0.05}, "author": {"accuracy": 1.0, "se": 0.0},
                "all": {"accuracy": (acc + 1) / 2, "se": 0.03}, "answers": [["x"]]}

    ax = plot_accuracy_by_task({"seen": report(0.2), "held out": report(0.1)}, "Right answers")
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [20.0, 100.0, 60.0, 10.0, 100.0, 55.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["arithmetic", "author", "all"]
    assert ax.get_title() == "Right answers" and ax.get_ylabel() == "right answers (%)"
    assert ax.get_xlabel() == "kind of question"
    with pytest.raises(ValueError, match="at least one group"):
        plot_grouped_bars({}, ["a"], "t", "y")


def test_kl_to_reference_is_exact_and_never_negative(chat_tokenizer, make_chat_model):
    from course_lib import rlhf

    a, b = make_chat_model(seed=0), make_chat_model(seed=1)
    prompts = ["Hello!", "What is 2 plus 3?", "Who wrote Hamlet?"]
    assert rlhf.kl_to_reference(a, a, chat_tokenizer, prompts, max_new_tokens=6) == pytest.approx(0.0, abs=1e-6)
    assert rlhf.kl_to_reference(a, b, chat_tokenizer, prompts, max_new_tokens=6) > 0
