"""The fused output layer + cross-entropy (the GPU path's memory saver) equals the plain one."""
import pytest
import torch
import torch.nn.functional as F

from course_lib.fused_loss import linear_cross_entropy


def plain(h, w, y):
    return F.cross_entropy((h @ w.T).view(-1, w.size(0)), y.view(-1), ignore_index=-100)


@pytest.mark.parametrize("chunk_rows", [1, 7, 4096])
def test_same_loss_and_gradients_as_the_plain_loss(chunk_rows):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 11, 16, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(50, 16, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 50, (3, 11), generator=g)
    y[0, :4] = -100  # positions that do not count (chat fine-tuning's user words)
    ref = plain(h, w, y)
    ref.backward()
    gh, gw = h.grad.clone(), w.grad.clone()
    h.grad = w.grad = None
    loss = linear_cross_entropy(h, w, y, chunk_rows=chunk_rows)
    (2.0 * loss).backward()  # an outer factor reaches both gradients
    assert torch.allclose(loss, ref, atol=1e-9)
    assert torch.allclose(h.grad, 2 * gh, atol=1e-9) and torch.allclose(w.grad, 2 * gw, atol=1e-9)


def test_gpt_trains_the_same_with_the_fused_loss():
    from course_lib.model import GPT, GPTConfig

    torch.manual_seed(0)
    idx = torch.randint(0, 40, (2, 12))
    losses = []
    for fused in (False, True):
        torch.manual_seed(1)
        model = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16))
        model.fused_loss = fused
        _, loss = model(idx, idx)
        loss.backward()
        losses.append((loss.item(), model.tok_emb.weight.grad.clone(), model.blocks[0].attn.qkv.weight.grad.clone()))
    (l0, e0, q0), (l1, e1, q1) = losses
    assert l0 == pytest.approx(l1, abs=1e-5)
    assert torch.allclose(e0, e1, atol=1e-5) and torch.allclose(q0, q1, atol=1e-5)


def test_bad_shapes_are_refused():
    h, w, y = torch.randn(4, 8), torch.randn(10, 8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="weight must have shape"):
        linear_cross_entropy(h, torch.randn(10, 7), y)
    with pytest.raises(ValueError, match="targets have 3 positions"):
        linear_cross_entropy(h, w, y[:3])
    with pytest.raises(ValueError, match="chunk_rows"):
        linear_cross_entropy(h, w, y, chunk_rows=0)


def test_under_bf16_autocast_it_matches_the_plain_loss_to_bf16_precision():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(64, 32, generator=g, requires_grad=True)
    w = torch.randn(300, 32, generator=g, requires_grad=True) * 0.1
    y = torch.randint(0, 300, (64,), generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused = linear_cross_entropy(h, w, y, chunk_rows=16)
        ref = F.cross_entropy((h @ w.T).float(), y)
    assert fused.dtype == torch.float32
    assert fused.item() == pytest.approx(ref.item(), rel=2e-2)
    fused.backward()
    assert h.grad.dtype == torch.float32 and torch.isfinite(h.grad).all()


def test_the_trainer_trains_the_same_with_the_fused_loss(char_tokenizer, small_text):
    from course_lib.train import TrainConfig, Trainer

    ids = torch.tensor(char_tokenizer.encode(small_text))
    losses = {}
    for fused in (False, True):
        config = TrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, max_steps=5,
                             warmup_steps=1, eval_interval=0, device="cpu", fused_loss=fused)
        trainer = Trainer(config, ids[:800], ids[800:], tokenizer=char_tokenizer, progress=False)
        trainer.fit()
        losses[fused] = (trainer.train_loss, trainer.val_loss)
    assert losses[True] == pytest.approx(losses[False], abs=1e-4)
    with pytest.raises(ValueError, match="compile_mode"):
        TrainConfig(compile_mode="fastest")
