"""The reward model: the transformer with a scalar head, trained so that r(chosen) > r(rejected).

It learns to imitate the labels (Bradley-Terry loss) and then stands in for the people
who gave them: PPO asks it, thousands of times, how good an answer is.

    >>> rm = RewardModel(sft_model)                        # a copy of the SFT model + a new head
    >>> log = train_reward_model(rm, tokenizer, pairs, steps=60, heldout=heldout_pairs)
    >>> rm.score(tokenizer, "What is 2 plus 3?", "5.")
"""
from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..chat import pad_id, prompt_ids
from ..finetune import RunLog, optimizer_step, scheduled_lr
from ..settings import Settings, _f, number, optional, whole
from .preferences import simulated_preferences, training_pairs
from .scoring import MAX_ANSWER_TOKENS, encode_answer, pack, pair_batch, shuffled_batches, training_top_blocks


class RewardModel(nn.Module):
    """The transformer with a scalar head: how good is this whole conversation?

    It reads the script (prompt + answer + <|end|>) and turns the final hidden vector of
    the last token, which has seen every token before it, into one number. Initialised
    from the SFT model (a copy: the SFT model itself is left alone), so it starts out
    knowing the language; only the head is new.
    """

    def __init__(self, gpt, copy_model: bool = True):
        super().__init__()
        self.gpt = copy.deepcopy(gpt) if copy_model else gpt
        self.head = nn.Linear(self.gpt.config.n_embd, 1)
        nn.init.zeros_(self.head.weight)  # every answer starts with reward 0
        nn.init.zeros_(self.head.bias)

    def forward(self, idx: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) ids, real lengths (B,) -> rewards (B,), read at each sequence's last token."""
        h = self.gpt.hidden(idx)  # (B, T, C)
        if lengths is None:
            last = h[:, -1]
        else:
            last = h[torch.arange(idx.size(0), device=idx.device), lengths.to(idx.device) - 1]
        return self.head(last).squeeze(-1)

    @torch.no_grad()
    def score(self, tokenizer, prompt, answer) -> float:
        """The reward of one answer (text) to one prompt (a message or a conversation)."""
        was = self.training
        self.eval()
        p = prompt_ids(prompt, tokenizer, self.gpt.config.block_size, MAX_ANSWER_TOKENS)
        X, _, lengths = pack([p], [encode_answer(tokenizer, answer)[:MAX_ANSWER_TOKENS]])  # as in training
        r = float(self(X.to(next(self.parameters()).device), lengths))
        self.train(was)
        return r


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected), averaged: small when the chosen answer scores higher.

    Bradley-Terry model: P(chosen preferred) = sigmoid(r_chosen - r_rejected).
    """
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def _pair_rewards(rm: RewardModel, tokenizer, pairs: list) -> tuple:
    """(rewards of the chosen answers (B,), of the rejected ones (B,), tokens read), in one batch."""
    prompts, chosen, rejected = pair_batch(tokenizer, pairs, rm.gpt.config.block_size)
    X, _, lengths = pack(prompts + prompts, chosen + rejected, pad_id(tokenizer))
    device = next(rm.parameters()).device
    r = rm(X.to(device), lengths)
    return r[: len(pairs)], r[len(pairs):], X.numel()


@torch.no_grad()
def reward_accuracy(rm: RewardModel, tokenizer, pairs: list, batch_size: int = 32) -> float:
    """Share of pairs where the reward model scores the chosen answer higher."""
    was = rm.training
    rm.eval()
    right = 0
    for i in range(0, len(pairs), batch_size):
        rc, rr, _ = _pair_rewards(rm, tokenizer, pairs[i : i + batch_size])
        right += int((rc > rr).sum())
    rm.train(was)
    return right / max(len(pairs), 1)


@dataclass
class RewardModelConfig(Settings):
    """How the reward model is trained (the defaults are the shipped recipe)."""

    steps: int = _f(60, "optimiser steps", whole(1))
    batch_size: int = _f(16, "preference pairs per step", whole(1))
    lr: float = _f(1e-4, "peak learning rate (warmup, then cosine decay to a tenth)", number(above=0))
    weight_decay: float = _f(0.0, "AdamW weight decay, on matrices only", number(at_least=0))
    train_blocks: Optional[int] = _f(None, "train only the top this many blocks (None = all)", optional(whole(0)))
    seed: int = _f(0, "random seed for the order of the pairs", whole(0))


def train_reward_model(rm: RewardModel, tokenizer, pairs: list, config: RewardModelConfig | None = None,
                       heldout: list | None = None, progress: bool = True, callback=None, **settings) -> list:
    """Fit the reward model to preference pairs with the Bradley-Terry loss; returns the log.

    Settings: a RewardModelConfig and/or its fields as keywords (steps=60, batch_size=16,
    lr=1e-4, weight_decay=0, train_blocks=None, seed=0). Each log entry: step, loss,
    accuracy (on the batch), seconds, cpu_seconds; with `heldout` pairs the last entry
    also has heldout_accuracy. callback(event) gets the Trainer's event dicts
    (course_lib.finetune); returning False stops.
    """
    from ..optim import make_optimizer

    cfg = RewardModelConfig.build(config, settings, "reward model")
    pairs = training_pairs(pairs)
    with training_top_blocks(rm, rm.gpt, cfg.train_blocks):
        device = next(rm.parameters()).device
        optimizer = make_optimizer(rm, lr=cfg.lr, weight_decay=cfg.weight_decay, device_type=device.type)
        batches = list(shuffled_batches(len(pairs), cfg.batch_size, cfg.steps, random.Random(cfg.seed)))
        rm.eval()  # dropout off (see `ppo`): the same text always gets the same reward
        with RunLog("reward model", cfg.steps, progress, callback, show={"loss": "loss", "acc": "accuracy"}) as run:
            for step, batch in enumerate(batches):
                lr = scheduled_lr(optimizer, step, cfg.steps, cfg.lr)
                rc, rr, tokens = _pair_rewards(rm, tokenizer, [pairs[i] for i in batch])
                loss = bradley_terry_loss(rc, rr)
                optimizer_step(optimizer, loss, rm, what="the reward model", step=step + 1, lr=cfg.lr)
                values = {"loss": loss.item(), "accuracy": float((rc > rr).float().mean())}
                if not run.record(values, train_loss=values["loss"], tokens=tokens, lr=lr):
                    break
    log = run.log
    if heldout:
        log[-1]["heldout_accuracy"] = reward_accuracy(rm, tokenizer, heldout)
    return log


def build_reward_model(sft, tokenizer, config: RewardModelConfig | None = None, progress: bool = True,
                       **settings) -> tuple:
    """Train a reward model from the SFT model on the simulated preference pairs: (rm, report)."""
    cfg = RewardModelConfig.build(config, settings, "reward model")
    t0 = time.perf_counter()
    rm = RewardModel(sft)
    log = train_reward_model(rm, tokenizer, simulated_preferences("train"), cfg,
                             heldout=simulated_preferences("heldout"), progress=progress)
    report = {"steps": len(log), "batch_size": cfg.batch_size, "lr": cfg.lr, "train_blocks": cfg.train_blocks,
              "heldout_accuracy": round(log[-1]["heldout_accuracy"], 4),
              "final_loss": round(sum(e["loss"] for e in log[-10:]) / min(10, len(log)), 4),
              "seconds": round(time.perf_counter() - t0, 1), "training_cpu_seconds": log[-1]["cpu_seconds"]}
    return rm, report


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------

def save_reward_model(directory, rm: RewardModel, tokenizer=None, meta=None) -> Path:
    """A checkpoint folder for the transformer plus reward_head.safetensors for the head."""
    from safetensors.torch import save as save_safetensors_bytes

    from ..checkpoint import non_finite_tensors, save_checkpoint

    directory = Path(directory)
    head = {k: v.detach().cpu().contiguous() for k, v in rm.head.state_dict().items()}
    bad = non_finite_tensors(head.items())
    if bad:
        raise ValueError(f"not saving {directory}: the reward head's {bad} hold NaN or infinite values")
    # One set with the transformer's files: a kill while saving never pairs an old head with new weights.
    save_checkpoint(directory, rm.gpt, tokenizer, meta={"kind": "reward-model", **(meta or {})},
                    extra_files={"reward_head.safetensors": save_safetensors_bytes(head)})
    return directory


def load_reward_model(directory, device="cpu") -> tuple:
    """(RewardModel, tokenizer, meta) from `save_reward_model`'s folder."""
    from safetensors.torch import load as load_safetensors_bytes

    from ..checkpoint import load_checkpoint
    from ..fileset import checked_path

    directory = Path(directory)
    head_path = checked_path(directory, "reward_head.safetensors")
    if not head_path.exists():
        raise FileNotFoundError(f"{head_path} is missing: {directory} is not a reward model folder")
    gpt, tokenizer, meta = load_checkpoint(directory, device=device)
    rm = RewardModel(gpt, copy_model=False)
    try:
        head = load_safetensors_bytes(head_path.read_bytes())
        rm.head.load_state_dict(head)
    except Exception as e:  # truncated, foreign or of another width
        raise ValueError(f"{head_path} is not a reward head for this model ({str(e)[:160]})") from e
    return rm.to(device).eval(), tokenizer, meta
