"""Induction heads: the skill "I saw A B before; now A again, so B next", and watching it form.

    >>> run = train_induction(InductionConfig(), callback=print)   # a 2-layer model, live
    >>> run.history[-1]["second_copy_loss"], run.history[-1]["scores"]
    >>> copying(model, tokenizer, passage_ids)                     # a shipped model: first vs second copy

The training data are random tokens that repeat with a period that changes from sequence
to sequence (6 to 24 tokens), so no fixed "look 24 back" position trick can solve them:
the model has to find the earlier copy of the current token by its content. It is
measured on random tokens repeated twice (24 then the same 24): the second copy is
predictable only by copying, the first not at all.
"""
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import GPT, GPTConfig


# -- data ---------------------------------------------------------------------------------------

def repeated_tokens(n: int, length: int, vocab_size: int, generator=None, low: int = 0) -> torch.Tensor:
    """(n, 2 * length): random tokens (ids low..vocab_size-1), then the same tokens again."""
    if min(n, length) < 1 or vocab_size <= low:
        raise ValueError(f"n and length must be >= 1 and vocab_size > low, got {n}, {length}, {vocab_size}, {low}")
    first = torch.randint(low, vocab_size, (n, length), generator=generator)
    return torch.cat([first, first], dim=1)


def periodic_tokens(n: int, T: int, vocab_size: int, min_period: int, max_period: int, generator=None):
    """(n, T): each row a random block of tokens repeated over and over, its period drawn from
    min_period..max_period."""
    if not 1 <= min_period <= max_period <= T:
        raise ValueError(f"need 1 <= min_period <= max_period <= T, got {min_period}, {max_period}, {T}")
    x = torch.randint(vocab_size, (n, T), generator=generator)
    periods = torch.randint(min_period, max_period + 1, (n,), generator=generator)
    t = torch.arange(T)
    return x.gather(1, (t[None, :] % periods[:, None]))


# -- measures -----------------------------------------------------------------------------------

def induction_scores(attn_pattern: torch.Tensor, length: int) -> torch.Tensor:
    """(L, H): on text repeated twice (period `length`), the average attention a token of the
    second copy pays to the token right after its earlier occurrence: where an induction head
    looks. attn_pattern (L, B, H, T, T) from `GPT.trace`, T = 2 * length."""
    T = attn_pattern.size(-1)
    if T != 2 * length:
        raise ValueError(f"the pattern covers {T} positions; a text repeated twice with length {length} has {2 * length}")
    q = torch.arange(length, T)  # queries in the second copy
    return attn_pattern[..., q, q - length + 1].mean(dim=(1, 3))


def previous_token_scores(attn_pattern: torch.Tensor) -> torch.Tensor:
    """(L, H): the average attention of each token to the token just before it."""
    T = attn_pattern.size(-1)
    q = torch.arange(1, T)
    return attn_pattern[..., q, q - 1].mean(dim=(1, 3))


def copy_losses(model, idx: torch.Tensor, length: int, **ablate) -> dict:
    """Loss (nats) on the first and the second copy of texts repeated twice, idx (B, 2 * length).

    "first": predicting tokens 1..length-1 of the first copy (only what the text so far gives);
    "second": predicting tokens 1..length-1 of the second copy (copying could make it ~0).
    """
    if idx.dim() != 2 or idx.size(1) != 2 * length:
        raise ValueError(f"idx must have shape (B, {2 * length}) for length {length}, got {tuple(idx.shape)}")
    tr = model.trace(idx, **ablate)
    logits = tr.logits[:, :-1].float()
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), idx[:, 1:].reshape(-1), reduction="none")
    loss = loss.view(idx.size(0), -1)  # (B, T-1): loss of predicting token t+1 from 0..t
    return {"first": loss[:, :length - 1].mean().item(), "second": loss[:, length:].mean().item(),
            "scores": induction_scores(tr.attn_pattern, length)}


def copying(model, windows: torch.Tensor, length: int = None) -> dict:
    """A passage read twice: the loss on the first and second copy, and each head's induction
    score. windows (B, >= length) real text (e.g. `interpret.val_windows`); the first `length`
    tokens of each are repeated (length defaults to half the context)."""
    length = length or model.config.block_size // 2
    if 2 * length > model.config.block_size or windows.size(1) < length:
        raise ValueError(f"length {length}: twice it must fit the context ({model.config.block_size}) and the "
                         f"windows ({windows.size(1)} tokens) must hold one copy")
    first = windows[:, :length]
    return copy_losses(model, torch.cat([first, first], dim=1), length)


# -- training one, live ---------------------------------------------------------------------------

@dataclass
class InductionConfig:
    vocab_size: int = 64  # random tokens from 64 kinds: a blind guess costs ln 64 = 4.16 nats
    length: int = 24  # the measured text: 24 random tokens, then the same 24
    min_period: int = 6  # training texts repeat with periods 6..max_period (default: length)
    max_period: int = None
    n_layer: int = 2  # the smallest stack that can hold an induction head (two heads in a row)
    n_head: int = 4
    n_embd: int = 64
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    eval_every: int = 10  # measure (and call back) every this many steps
    eval_size: int = 64  # measured on this many fixed sequences


@dataclass
class InductionRun:
    model: GPT
    config: InductionConfig
    history: list  # per measurement: step, seconds, first/second copy loss, scores (L, H) lists
    eval_idx: torch.Tensor  # (eval_size, 2 * length): the fixed measurement texts


def train_induction(config: InductionConfig = None, callback=None) -> InductionRun:
    """Train a small GPT on repeating random tokens; measure the copies and the heads as it learns.

    `callback(entry)` is called after every measurement with a dict: step, seconds,
    first_copy_loss, second_copy_loss, scores (L x H induction scores as lists),
    previous (L x H previous-token scores). Same seed, same run.
    """
    c = config or InductionConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small runs fastest on one thread (no waiting between threads)
    try:
        with torch.enable_grad():  # lessons may have switched gradients off
            return _train(c, callback)
    finally:
        torch.set_num_threads(threads)


def _train(c: InductionConfig, callback) -> InductionRun:
    if c.steps < 0 or c.eval_every < 1 or c.batch_size < 1:
        raise ValueError(f"steps >= 0, eval_every >= 1 and batch_size >= 1 are needed, got {c.steps}, "
                         f"{c.eval_every}, {c.batch_size}")
    max_period = c.max_period or c.length
    torch.manual_seed(c.seed)
    model = GPT(GPTConfig(vocab_size=c.vocab_size, block_size=2 * c.length, n_layer=c.n_layer, n_head=c.n_head,
                          n_embd=c.n_embd, dropout=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=0.0)
    data_gen = torch.Generator().manual_seed(c.seed + 1)
    eval_idx = repeated_tokens(c.eval_size, c.length, c.vocab_size, torch.Generator().manual_seed(c.seed + 2))
    history = []
    t0 = time.perf_counter()
    for step in range(c.steps + 1):
        if step % c.eval_every == 0 or step == c.steps:
            model.eval()
            m = copy_losses(model, eval_idx, c.length)
            prev = previous_token_scores(model.trace(eval_idx[:8]).attn_pattern)
            entry = {"step": step, "seconds": time.perf_counter() - t0, "first_copy_loss": m["first"],
                     "second_copy_loss": m["second"], "scores": m["scores"].tolist(), "previous": prev.tolist()}
            history.append(entry)
            if callback is not None:
                callback(entry)
            model.train()
        if step == c.steps:
            break
        x = periodic_tokens(c.batch_size, 2 * c.length + 1, c.vocab_size, c.min_period, max_period, data_gen)
        _, loss = model(x[:, :-1], x[:, 1:])
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"the loss became {loss.item()} at step {step}; try a smaller lr than {c.lr}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    return InductionRun(model=model, config=c, history=history, eval_idx=eval_idx)


def jump_step(history: list, threshold: float = None) -> int:
    """The first measured step where the second-copy loss has fallen below `threshold`
    (default: halfway between its start and its end)."""
    losses = [e["second_copy_loss"] for e in history]
    if threshold is None:
        threshold = (losses[0] + losses[-1]) / 2
    return next((e["step"] for e in history if e["second_copy_loss"] < threshold), None)


def flat_until(history: list, drop: float = 0.25) -> int:
    """The last measured step at which the second-copy loss was still within `drop` nats of
    where it started: how long the plateau lasted."""
    start = history[0]["second_copy_loss"]
    flat = [e["step"] for e in history if e["second_copy_loss"] >= start - drop]
    below = next((e["step"] for e in history if e["second_copy_loss"] < start - drop), None)
    return max((s for s in flat if below is None or s < below), default=history[0]["step"])
