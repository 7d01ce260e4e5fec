"""Looking inside (course_lib.interpret, course_lib.induction): the lens, ablations, neurons, heads."""
import pytest
import torch

from course_lib import induction, interpret
from course_lib.model import GPT, GPTConfig


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def model(char_tokenizer):
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=char_tokenizer.vocab_size, block_size=32, n_layer=3, n_head=2, n_embd=32)
    m = GPT(cfg).eval()
    with torch.no_grad():  # larger, different weights per layer, so the stream's size changes with depth
        for p in m.parameters():
            p.mul_(4)
    return m


@pytest.fixture
def windows(char_tokenizer, small_text):
    return interpret.val_windows(char_tokenizer, n=4, length=24, ids=char_tokenizer.encode(small_text))


def test_val_windows_are_fixed_and_spread(char_tokenizer, small_text):
    ids = char_tokenizer.encode(small_text)
    w = interpret.val_windows(char_tokenizer, n=3, length=10, ids=ids)
    assert w.shape == (3, 10) and w[0].tolist() == ids[:10] and w[-1].tolist() == ids[-10:]
    assert torch.equal(w, interpret.val_windows(char_tokenizer, n=3, length=10, ids=ids))
    with pytest.raises(ValueError, match="fewer than one window"):
        interpret.val_windows(char_tokenizer, n=2, length=10_000, ids=ids)


def test_lens_at_the_last_layer_is_the_models_output(model, windows):
    lens = interpret.lens_logits(model, windows)
    logits, _ = model(windows)
    assert lens.shape == (model.config.n_layer, *logits.shape)
    assert torch.allclose(lens[-1], logits, atol=1e-4)
    # the last entry of the per-layer losses is the model's own loss on the sample
    assert interpret.lens_losses(model, windows)[-1] == pytest.approx(interpret.sample_loss(model, windows), abs=1e-5)


def test_lens_uses_each_layers_own_statistics(model, windows):
    """Each layer is normalised on its own: the lens of layer 0 is the output layer reading
    ln_f of the stream after block 0, not the stream scaled by the last layer's statistics."""
    tr = model.trace(windows)
    lens = interpret.lens_logits(model, windows)
    with torch.no_grad():
        assert torch.allclose(lens[0], model.lm_head(model.ln_f(tr.resid_post[0])), atol=1e-4)
        last = tr.resid_post[-1]
        mean, std = last.mean(-1, keepdim=True), last.var(-1, keepdim=True, unbiased=False).add(1e-5).sqrt()
        wrong = model.lm_head((tr.resid_post[0] - mean) / std * model.ln_f.weight + model.ln_f.bias)
    assert not torch.allclose(lens[0], wrong, atol=1e-2)


def test_logit_lens_top_tokens(model, char_tokenizer):
    lens = interpret.logit_lens(model, char_tokenizer, "To be")
    assert lens.tokens == list("To be")
    assert lens.top_probs.shape == lens.top_ids.shape == (model.config.n_layer, 5)
    probs = model(torch.tensor([char_tokenizer.encode("To be")]))[0][0].softmax(-1)
    assert lens.top_ids[-1].tolist() == probs.argmax(-1).tolist()
    assert torch.allclose(lens.top_probs[-1], probs.max(-1).values, atol=1e-5)
    with pytest.raises(ValueError, match="empty"):
        interpret.logit_lens(model, char_tokenizer, "")


def test_ablating_nothing_changes_nothing(model, char_tokenizer, windows):
    effect = interpret.ablation_effect(model, char_tokenizer, "To be, or")
    assert effect["kl"] == pytest.approx(0.0, abs=1e-6)
    assert effect["before"] == effect["after"]
    assert interpret.sample_loss(model, windows, ablate_heads=[]) == interpret.sample_loss(model, windows)


def test_ablating_a_head_changes_only_what_depends_on_it(model, char_tokenizer, windows):
    layer = 1
    plain, cut = model.trace(windows), model.trace(windows, ablate_heads=[(layer, 0)])
    # everything before the head's layer is untouched, and so is its own attention pattern
    assert torch.equal(plain.resid_post[:layer], cut.resid_post[:layer])
    assert torch.equal(plain.attn_pattern[layer], cut.attn_pattern[layer])
    # from its layer on, the stream and the output change
    assert not torch.allclose(plain.attn_out[layer], cut.attn_out[layer])
    assert not torch.allclose(plain.logits, cut.logits)
    effect = interpret.ablation_effect(model, char_tokenizer, "To be, or", ablate_heads=[(layer, 0)])
    assert effect["kl"] > 0
    with pytest.raises(ValueError, match="unknown ablation"):
        interpret.ablation_effect(model, char_tokenizer, "To be", ablate_head=[(0, 0)])


def test_head_scan_matches_single_ablations(model, windows):
    scan = interpret.head_scan(model, windows)
    assert scan.shape == (model.config.n_layer, model.config.n_head)
    base = interpret.sample_loss(model, windows)
    assert scan[2, 1].item() == pytest.approx(interpret.sample_loss(model, windows, ablate_heads=[(2, 1)]) - base,
                                              abs=1e-5)


def test_kl_divergence():
    p = torch.tensor([0.5, 0.5])
    assert interpret.kl_divergence(p, p) == pytest.approx(0.0)
    assert interpret.kl_divergence(p, torch.tensor([0.9, 0.1])) == pytest.approx(
        0.5 * torch.log(torch.tensor(0.5 / 0.9)).item() + 0.5 * torch.log(torch.tensor(5.0)).item(), rel=1e-5)


def test_top_activations_are_the_largest_in_the_sample(model, windows, char_tokenizer):
    layer, neuron = 1, 7
    acts = model.trace(windows).mlp_hidden[layer][..., neuron]  # (B, T)
    top = interpret.top_activations(model, windows, layer, neuron, k=5)
    assert [v for v, _, _ in top] == pytest.approx(acts.flatten().topk(5).values.tolist(), abs=1e-5)
    for value, b, t in top:
        assert acts[b, t].item() == pytest.approx(value, abs=1e-5)
    before, token, after = interpret.snippet(char_tokenizer, windows, top[0][1], top[0][2], before=3, after=2)
    assert token == char_tokenizer.decode([int(windows[top[0][1], top[0][2]])])
    with pytest.raises(ValueError, match="neuron must be"):
        interpret.top_activations(model, windows, layer, 10_000)
    with pytest.raises(ValueError, match="layer must be"):
        interpret.neuron_activations(model, windows, 9)


def test_speech_starts_and_the_neuron_search(model, char_tokenizer):
    text = "ROMEO.\nHi there.\nACT II.\nJULIET.\nHello.\n"
    from course_lib.tokenizer import CharTokenizer

    tok = CharTokenizer.train(text)
    ids = torch.tensor([tok.encode(text)])
    marks = interpret.speech_starts(tok, ids)[0]
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    assert marks.nonzero().flatten().tolist() == [newlines[0], newlines[3]]  # after ROMEO. and JULIET. only
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=16)).eval()
    layer, neuron, share = interpret.best_neuron_for(m, ids, marks[None], k=2)
    assert 0 <= layer < 2 and 0 <= neuron < 64 and 0 <= share <= 1


def test_head_pattern_scores_on_a_made_up_pattern(model, windows, char_tokenizer):
    newline = char_tokenizer.encode("\n")[0]
    scores = interpret.head_pattern_scores(model, windows, newline)
    for name, s in scores.items():
        assert s.shape == (model.config.n_layer, model.config.n_head), name
        assert ((s >= 0) & (s <= 1 + 1e-6)).all(), name
    # the first query of each window attends only to position 0: its weight there is 1
    tr = model.trace(windows)
    expected = tr.attn_pattern[..., 1:, 0].mean(dim=(1, 3))
    assert torch.allclose(scores["first token"], expected, atol=1e-5)


# -- induction --------------------------------------------------------------------------------

def test_repeated_and_periodic_tokens():
    x = induction.repeated_tokens(3, 5, 10, torch.Generator().manual_seed(0))
    assert x.shape == (3, 10) and torch.equal(x[:, :5], x[:, 5:])
    p = induction.periodic_tokens(50, 20, 10, 3, 6, torch.Generator().manual_seed(0))
    for row in p:  # each row repeats with some period between 3 and 6
        assert any(torch.equal(row[k:], row[:-k]) for k in range(3, 7))
    with pytest.raises(ValueError):
        induction.periodic_tokens(2, 5, 10, 4, 9)


def test_induction_scores_of_a_perfect_induction_pattern():
    length, T = 4, 8
    pattern = torch.zeros(1, 1, 2, T, T)
    pattern[0, 0, 0, :, 0] = 1.0  # head 0 looks at the first token
    for t in range(T):
        pattern[0, 0, 1, t, t - length + 1 if t >= length else 0] = 1.0  # head 1: induction
    scores = induction.induction_scores(pattern, length)
    assert scores[0].tolist() == [0.0, 1.0]  # the induction key is never position 0
    with pytest.raises(ValueError):
        induction.induction_scores(pattern, 3)


def test_induction_training_reaches_a_low_second_copy_loss():
    """With this fixed seed the small model learns to copy: by step 600 the second copy's loss
    has fallen from a blind guess (ln 64 = 4.16 nats) to under 2 nats, the first copy's has not,
    and block 1's heads have become induction heads. Switching off block 1's attention undoes it."""
    seen = []
    run = induction.train_induction(induction.InductionConfig(steps=600, eval_every=150), callback=seen.append)
    start, end = run.history[0], run.history[-1]
    assert len(seen) == len(run.history) == 5 and end["step"] == 600
    assert start["second_copy_loss"] > 4.0 and end["second_copy_loss"] < 2.0
    assert end["first_copy_loss"] > 4.0
    assert max(end["scores"][1]) > 0.4 and max(start["scores"][1]) < 0.1
    assert max(end["scores"][0]) < 0.1  # the copying happens in block 1
    assert induction.flat_until(run.history) >= 150  # it sat on the plateau first
    cut = induction.copy_losses(run.model, run.eval_idx, run.config.length, ablate_attn=[1])
    assert cut["second"] > 4.0


def test_copying_on_a_text_read_twice(model, windows):
    result = induction.copying(model, windows, length=10)
    assert set(result) == {"first", "second", "scores"}
    assert result["scores"].shape == (model.config.n_layer, model.config.n_head)
    with pytest.raises(ValueError):
        induction.copying(model, windows, length=20)  # twice 20 does not fit the context of 32
