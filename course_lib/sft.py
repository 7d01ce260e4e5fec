"""Supervised fine-tuning (SFT): teach a pre-trained model the chat script.

Conversations are rendered with the chat template (course_lib.chat) and the model is
trained, with the pre-training optimiser and schedule, on the assistant's tokens only:

    >>> from course_lib.sft import sft
    >>> log = sft(model, tokenizer, load_dialogues("train"), steps=200, batch_size=16, lr=1e-3)

`python -m course_lib.chat sft --base ... --out ...` runs it from the command line.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional

import torch

from .chat import IGNORE, collate, pad_id, training_example
from .finetune import RunLog, optimizer_step, scheduled_lr
from .model import GPT
from .settings import Settings, _f, number, optional, whole


def length_grouped_batches(lengths: list, batch_size: int, rng: random.Random, pool: int = 8):
    """Endless batches of indices: shuffled passes through the data, where each batch holds
    examples of similar length (drawn from a pool of `pool` batches sorted by length), so
    little compute goes into padding. The order of the batches is shuffled again."""
    n = len(lengths)
    while True:
        order = list(range(n))
        rng.shuffle(order)
        batches = []
        for start in range(0, n, batch_size * pool):
            chunk = sorted(order[start : start + batch_size * pool], key=lambda i: lengths[i])
            batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        for b in batches:
            if len(b) == batch_size or n < batch_size:
                yield b


@dataclass
class SFTConfig(Settings):
    """The settings of supervised fine-tuning (the defaults are chat-sft's recipe)."""

    steps: int = _f(200, "optimiser steps", whole(1))
    batch_size: int = _f(16, "conversations per step", whole(1))
    lr: float = _f(1e-3, "peak learning rate, reached after the warmup", number(above=0))
    min_lr: Optional[float] = _f(None, "learning rate at the end of the cosine decay (None = lr / 10)",
                                 optional(number(at_least=0)))
    warmup_steps: int = _f(10, "steps of linear warmup", whole(0))
    weight_decay: float = _f(0.1, "AdamW weight decay, on matrices only", number(at_least=0))
    dropout: Optional[float] = _f(0.0, "dropout while fine-tuning (None = keep the model's own)",
                                  optional(number(at_least=0, below=1)))
    seed: int = _f(0, "random seed for the order of the conversations", whole(0))


def sft(model: GPT, tokenizer, dialogues: list, config: SFTConfig | None = None, progress: bool = True,
        callback=None, **settings) -> list:
    """Fine-tune `model` in place on conversations; returns the log, one dict per step.

    Each step takes `batch_size` conversations of similar length (shuffled passes through
    the data, see `length_grouped_batches`), renders them with the template, and
    minimises the cross-entropy on the assistant's tokens only. Optimiser and schedule are the pre-training ones
    (course_lib.optim: AdamW, warmup then cosine). Settings: an SFTConfig and/or its
    fields as keywords (steps=200, batch_size=16, lr=1e-3, min_lr=None, warmup_steps=10,
    weight_decay=0.1, dropout=0.0, seed=0). dropout: the rate while fine-tuning
    (default 0: with a few hundred steps there is no time to overfit, and dropout slows
    learning); None keeps the model's own. Log entries: step, loss, lr, answer_tokens,
    tokens, seconds, cpu_seconds. callback(event) gets the Trainer's event dicts
    (course_lib.finetune) after each step; returning False stops early.
    """
    from .optim import make_optimizer

    cfg = SFTConfig.build(config, settings, "SFT")
    if not isinstance(dialogues, (list, tuple)) or not dialogues:
        raise ValueError("dialogues must be a non-empty list of conversations (each {'messages': [...]} or a list "
                         f"of turns), not {dialogues!r:.60}")
    min_lr = cfg.lr / 10 if cfg.min_lr is None else cfg.min_lr
    if cfg.dropout is not None:
        model.set_dropout(cfg.dropout)
    block = model.config.block_size
    examples = [training_example(d["messages"] if isinstance(d, dict) and "messages" in d else d,
                                 tokenizer, block) for d in dialogues]
    if not any(bool((y != IGNORE).any()) for _, y in examples):
        raise ValueError("no dialogue has an assistant turn within the context: SFT learns only the assistant's "
                         "words, so there is nothing to learn (a conversation needs an assistant turn)")
    device = next(model.parameters()).device
    pad = pad_id(tokenizer)
    optimizer = make_optimizer(model, lr=cfg.lr, weight_decay=cfg.weight_decay, device_type=device.type)
    batches = length_grouped_batches([x.numel() for x, _ in examples], cfg.batch_size, random.Random(cfg.seed))
    model.train()
    with RunLog("SFT", cfg.steps, progress, callback) as run:
        for step in range(cfg.steps):
            X, Y = collate([examples[i] for i in next(batches)], pad)
            X, Y = X.to(device), Y.to(device)
            lr = scheduled_lr(optimizer, step, cfg.steps, cfg.lr, min_lr, cfg.warmup_steps)
            _, loss = model(X, Y)
            optimizer_step(optimizer, loss, model, what="SFT", step=step + 1, lr=cfg.lr)
            entry = {"loss": loss.item(), "lr": lr, "answer_tokens": int((Y != IGNORE).sum()),
                     "tokens": int(X.numel())}
            if not run.record(entry, train_loss=entry["loss"], tokens=X.numel(), lr=lr):
                break
    model.eval()
    return run.log


@torch.no_grad()
def answer_loss(model: GPT, tokenizer, dialogues: list, batch_size: int = 32) -> float:
    """Mean cross-entropy on the assistant's tokens (how well the model imitates the data)."""
    model.eval()
    device = next(model.parameters()).device
    examples = [training_example(d["messages"] if "messages" in d else d, tokenizer, model.config.block_size)
                for d in dialogues]
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        X, Y = collate(examples[i : i + batch_size])
        logits, _ = model(X.to(device))
        Y = Y.to(device)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), Y.reshape(-1),
                                                 ignore_index=IGNORE, reduction="sum")
        total += float(loss)
        count += int((Y != IGNORE).sum())
    return total / max(count, 1)
