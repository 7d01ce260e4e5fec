import pytest
import torch

from course_lib.sampling import (
    generate,
    generate_ids,
    make_generator,
    next_token_distribution,
    next_token_logits,
    probs_from_logits,
    sample_batch,
)


def test_temperature_zero_is_greedy():
    logits = torch.tensor([1.0, 3.0, 2.0])
    assert probs_from_logits(logits, temperature=0).tolist() == [0.0, 1.0, 0.0]


def test_higher_temperature_flattens():
    logits = torch.tensor([1.0, 3.0, 2.0, 0.0])
    cold = probs_from_logits(logits, temperature=0.5)
    warm = probs_from_logits(logits, temperature=2.0)
    assert cold.max() > probs_from_logits(logits).max() > warm.max()
    assert torch.allclose(cold.sum(), torch.tensor(1.0)) and torch.allclose(warm.sum(), torch.tensor(1.0))


def test_top_k_and_top_p():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    assert (probs_from_logits(logits, top_k=2) > 0).tolist() == [True, True, False, False]
    assert (probs_from_logits(logits, top_k=1) > 0).sum() == 1
    kept = probs_from_logits(logits, top_p=0.7)  # 0.5 < 0.7, 0.5 + 0.3 >= 0.7
    assert (kept > 0).tolist() == [True, True, False, False]
    assert torch.allclose(kept[:2], torch.tensor([0.5, 0.3]) / 0.8)
    assert (probs_from_logits(logits, top_p=0.1) > 0).sum() == 1  # the best token always stays
    assert torch.allclose(probs_from_logits(logits, top_k=100), probs_from_logits(logits))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=-1), "temperature must be a number >= 0"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_k=0), "top_k must be a whole number >= 1"),
        (dict(top_k=2.5), "top_k"),
        (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(top_p=1.5), "top_p"),
    ],
)
def test_bad_settings_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        probs_from_logits(torch.zeros(3), **kwargs)


def test_next_token_distribution(tiny_model, char_tokenizer):
    probs = next_token_distribution(tiny_model, char_tokenizer, "To be")
    assert probs.shape == (char_tokenizer.vocab_size,)
    assert torch.allclose(probs.sum(), torch.tensor(1.0), atol=1e-5)
    greedy = next_token_distribution(tiny_model, char_tokenizer, "To be", temperature=0)
    assert greedy.max() == 1.0 and greedy.argmax() == probs.argmax()
    with pytest.raises(ValueError, match="prompt is empty"):
        next_token_distribution(tiny_model, char_tokenizer, "")
    with pytest.raises(ValueError):
        next_token_distribution(tiny_model, char_tokenizer, "To be \u2603")  # unknown character


def test_long_prompts_are_cropped_from_the_left(tiny_model, char_tokenizer):
    long = "To be, or not to be " * 10  # 200 characters, context 32
    a = next_token_distribution(tiny_model, char_tokenizer, long)
    b = next_token_distribution(tiny_model, char_tokenizer, long[-32:])
    assert torch.allclose(a, b, atol=1e-6)


def test_seeded_generation_is_reproducible(tiny_model, char_tokenizer):
    a = generate(tiny_model, char_tokenizer, "To be", max_new_tokens=20, seed=1)
    b = generate(tiny_model, char_tokenizer, "To be", max_new_tokens=20, seed=1)
    c = generate(tiny_model, char_tokenizer, "To be", max_new_tokens=20, seed=2)
    assert a == b and a != c
    assert len(char_tokenizer.encode(a)) == 20


def test_kv_cache_gives_the_same_tokens(tiny_model, char_tokenizer):
    idx = torch.tensor([char_tokenizer.encode("Whether 'tis")])
    for kwargs in (dict(temperature=0), dict(temperature=1.0, seed=3), dict(temperature=0.8, top_k=5, seed=4)):
        # 40 new tokens on a 32-token context: the cache is dropped and rebuilt on the way
        with_cache = generate_ids(tiny_model, idx, 40, use_cache=True, **kwargs)
        without = generate_ids(tiny_model, idx, 40, use_cache=False, **kwargs)
        assert torch.equal(with_cache, without)


def test_stop_tokens_end_the_answer(tiny_model, char_tokenizer):
    full = generate(tiny_model, char_tokenizer, "To be", max_new_tokens=20, temperature=0, stop=())
    ids = char_tokenizer.encode(full)
    stop_id = ids[5]
    first = ids.index(stop_id)
    stopped = generate(tiny_model, char_tokenizer, "To be", max_new_tokens=20, temperature=0, stop=(stop_id,))
    assert stopped == char_tokenizer.decode(ids[:first])  # ends before the stop token


def test_empty_prompt_starts_from_end_of_text(tiny_model, char_tokenizer):
    text = generate(tiny_model, char_tokenizer, "", max_new_tokens=5, seed=0, stop=())
    assert isinstance(text, str)


# --- one engine: single and batched generation, one step, one seeding convention ----------

def test_one_prompt_alone_or_in_a_batch_gives_the_same_tokens(tiny_model, char_tokenizer):
    prompt = char_tokenizer.encode("To be, or")
    for kwargs in (dict(temperature=1.0, seed=5), dict(temperature=0.7, top_p=0.9, seed=6)):
        alone = generate_ids(tiny_model, torch.tensor([prompt]), 12, **kwargs)[0, len(prompt):].tolist()
        assert sample_batch(tiny_model, [prompt], 12, **kwargs) == [alone]


def test_sample_batch_checks_its_prompts(tiny_model, char_tokenizer):
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        sample_batch(tiny_model, [[1, 2], []], 4)
    with pytest.raises(ValueError, match="exceeds the context of 32"):
        sample_batch(tiny_model, [[1] * 30], 4)
    with pytest.raises(ValueError, match="idx must be a tensor of shape"):
        generate_ids(tiny_model, torch.tensor([1, 2, 3]), 4)  # (T,) instead of (1, T)


def test_seeds_are_integers_or_none_for_fresh_dice():
    a, b = make_generator(7), make_generator(7)
    assert torch.equal(torch.rand(5, generator=a), torch.rand(5, generator=b))
    assert make_generator(None).initial_seed() != make_generator(None).initial_seed()


def test_next_token_logits_run_without_dropout_and_restore_the_mode(tiny_model, char_tokenizer):
    idx = torch.tensor([char_tokenizer.encode("To be")])
    expected = tiny_model.eval()(idx)[0][0, -1]
    tiny_model.set_dropout(0.5).train()
    logits = next_token_logits(tiny_model, idx)
    assert logits.shape == (char_tokenizer.vocab_size,) and logits.device.type == "cpu"
    assert torch.equal(logits, expected) and tiny_model.training
    generate(tiny_model, char_tokenizer, "To be", max_new_tokens=3, seed=0)
    assert tiny_model.training  # generation switched dropout off only while it ran


def test_generate_works_with_any_model_that_has_forward_and_a_context(char_tokenizer):
    """Lesson 02 drives the library's generate with its own bigram table, not a GPT."""
    from types import SimpleNamespace

    import torch.nn.functional as F

    V = char_tokenizer.vocab_size

    class Bigram(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scores = torch.nn.Parameter(torch.randn(V, V, generator=torch.Generator().manual_seed(0)))
            self.config = SimpleNamespace(vocab_size=V, block_size=1)

        def forward(self, idx, targets=None, kv_caches=None):
            logits = self.scores[idx]
            return logits, None if targets is None else F.cross_entropy(logits.view(-1, V), targets.view(-1))

        def new_kv_caches(self):
            return []

    text = generate(Bigram(), char_tokenizer, "T", max_new_tokens=20, seed=0, stop=())
    assert len(char_tokenizer.encode(text)) == 20
    assert text == generate(Bigram(), char_tokenizer, "T", max_new_tokens=20, seed=0, stop=())
