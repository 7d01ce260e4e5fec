"""Scoring whole answers: batches of (prompt, answer) token sequences and their log-probabilities.

The helpers the reward model, PPO, DPO and the evaluation share: encode an answer
(closed by <|end|>), pack prompt+answer sequences into a right-padded batch with a mask
on the answer's tokens, the log-probability of each answer under a model, the token
sequences of preference pairs, and `training_top_blocks`, which trains only the top
blocks of a model for the length of a `with` block.
"""
from __future__ import annotations

import contextlib
import random

import torch
import torch.nn.functional as F

from ..chat import END, prompt_ids, special_id

MAX_ANSWER_TOKENS = 40  # the answer tokens a pair, or the reward model, reads (longer answers are cut)


def encode_answer(tokenizer, answer, add_end: bool = True) -> list:
    """An answer's ids (text encoded as plain text, or ids as they are) closed with <|end|>."""
    end = special_id(tokenizer, END)
    ids = tokenizer.encode(answer, allow_special=False) if isinstance(answer, str) else list(answer)
    return ids + [end] if add_end and (not ids or ids[-1] != end) else ids


def pack(prompts: list, answers: list, pad_id: int = 0) -> tuple:
    """Right-padded batch of prompt+answer sequences.

    Returns X (B, T), answer_mask (B, T) with 1 on the answer's tokens, and lengths (B,).
    """
    seqs = [list(p) + list(a) for p, a in zip(prompts, answers)]
    T = max(len(s) for s in seqs)
    X = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.float32)
    for i, (p, a) in enumerate(zip(prompts, answers)):
        X[i, : len(p) + len(a)] = torch.tensor(list(p) + list(a), dtype=torch.long)
        mask[i, len(p) : len(p) + len(a)] = 1.0
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    return X, mask, lengths



def token_logprobs(logits: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """log p(X[:, t] | X[:, :t]) for t >= 1, placed at position t: (B, T) with column 0 = 0."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, X[:, 1:, None]).squeeze(-1)
    return F.pad(logp, (1, 0))


def answer_logprob(model, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of the log-probabilities of each sequence's answer tokens: (B,)."""
    logits, _ = model(X)
    return (token_logprobs(logits, X) * mask).sum(-1)


def pair_batch(tokenizer, pairs: list, block_size: int, max_answer_tokens: int = MAX_ANSWER_TOKENS) -> tuple:
    """Token sequences for chosen and rejected answers of preference pairs."""
    prompts, chosen, rejected = [], [], []
    for p in pairs:
        ids = prompt_ids(p["prompt"], tokenizer, block_size, max_answer_tokens)
        prompts.append(ids)
        chosen.append(encode_answer(tokenizer, p["chosen"])[:max_answer_tokens])
        rejected.append(encode_answer(tokenizer, p["rejected"])[:max_answer_tokens])
    return prompts, chosen, rejected


@contextlib.contextmanager
def training_top_blocks(model, gpt, train_blocks):
    """Within the block, train only the top `train_blocks` blocks of `gpt` (and its final
    norm; None trains all). Fewer trainable layers means a cheaper backward pass: handy on a
    laptop CPU. On the way out, also when training stops with an error or an interrupt,
    every parameter of `model` is trainable again and `model` is in eval mode.
    """
    n = len(gpt.blocks)
    if train_blocks is not None and not 0 <= train_blocks <= n:
        raise ValueError(f"train_blocks must be between 0 and {n} (the number of blocks), not {train_blocks}")
    try:
        if train_blocks is not None:
            for p in gpt.parameters():
                p.requires_grad_(False)
            for block in list(gpt.blocks)[n - train_blocks:]:
                for p in block.parameters():
                    p.requires_grad_(True)
            for p in gpt.ln_f.parameters():
                p.requires_grad_(True)
        yield
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
        model.eval()


def shuffled_batches(n: int, batch_size: int, steps: int, rng: random.Random):
    """`steps` lists of indices: shuffled passes through range(n)."""
    order, pos = [], 0
    for _ in range(steps):
        batch = []
        while len(batch) < min(batch_size, n):
            if pos >= len(order):
                order, pos = list(range(n)), 0
                rng.shuffle(order)
            batch.append(order[pos])
            pos += 1
        yield batch


def exact_kl(logits: torch.Tensor, ref_logits: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(policy || reference) of each answer, summed over its tokens (B,), in nats, exactly.

    At every answer position the two models give a whole next-token distribution, so the
    KL there is a sum over the vocabulary, sum_v p(v) (log p(v) - log q(v)): never negative,
    zero only where the two agree. (The penalty inside PPO's reward uses the sampled token's
    log-ratio, log p(x) - log q(x), whose mean over samples is the same KL but which can be
    negative for any one batch: no good as a distance to print.) logits, ref_logits:
    (B, T, V), the prediction at t for token t + 1; mask (B, T) marks the answer tokens.
    """
    logp = torch.log_softmax(logits[:, :-1].float() / temperature, dim=-1)
    logq = torch.log_softmax(ref_logits[:, :-1].float() / temperature, dim=-1)
    per_position = (logp.exp() * (logp - logq)).sum(-1).clamp(min=0)  # (B, T-1); clamp: rounding only
    return (F.pad(per_position, (1, 0)) * mask.to(per_position.device)).sum(-1)
