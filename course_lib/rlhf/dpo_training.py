"""DPO: direct preference optimisation, the shortcut: learn from the preference pairs directly.

No reward model and no sampling: the policy raises the chosen answer's probability
relative to the rejected one's, measured against the frozen SFT model (the reference).

    >>> log = dpo(policy, sft_model, tokenizer, pairs, steps=60, beta=0.1)
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from ..chat import pad_id
from ..finetune import RunLog, optimizer_step, scheduled_lr
from ..settings import Settings, _f, number, optional, whole
from .preferences import training_pairs
from .scoring import answer_logprob, pack, pair_batch, shuffled_batches, training_top_blocks

def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> tuple:
    """Direct preference optimisation: (loss, implicit reward margins).

    Arguments are summed log-probabilities of whole answers (B,). The implicit reward
    of an answer is beta x (log p_policy - log p_reference); the loss is the
    Bradley-Terry loss on those rewards: -log sigmoid(beta x (how much more the policy
    raised the chosen answer than the rejected one, relative to the reference)).
    """
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean(), margin.detach()



@dataclass
class DPOConfig(Settings):
    """The settings of a DPO run (the defaults are the shipped model's recipe)."""

    steps: int = _f(60, "optimiser steps", whole(1))
    batch_size: int = _f(8, "preference pairs per step", whole(1))
    lr: float = _f(1e-4, "peak learning rate (warmup, then cosine decay to a tenth)", number(above=0))
    beta: float = _f(0.1, "how strongly the implicit reward counts: beta x (log p_policy - log p_reference)",
                     number(above=0))
    sft_weight: float = _f(1.0, "weight of the fine-tuning loss on chosen answers", number(at_least=0))
    weight_decay: float = _f(0.0, "AdamW weight decay, on matrices only", number(at_least=0))
    train_blocks: Optional[int] = _f(None, "train only the top this many blocks (None = all)", optional(whole(0)))
    seed: int = _f(0, "random seed for the order of the pairs", whole(0))


def dpo(policy, reference, tokenizer, pairs: list, config: DPOConfig | None = None, progress: bool = True,
        callback=None, **settings) -> list:
    """Fine-tune `policy` (a GPT, changed in place) with DPO on preference pairs; returns the log.

    The DPO loss only cares about the gap between chosen and rejected, so it can push
    both down (the rejected faster) until the probability goes to answers nobody wrote:
    the model babbles. `sft_weight` adds the plain fine-tuning loss on the chosen
    answers (mean cross-entropy per token), which keeps them likely (TRL calls it
    rpo_alpha); 0 gives pure DPO.

    Settings: a DPOConfig and/or its fields as keywords (steps=60, batch_size=8, lr=1e-4,
    beta=0.1, sft_weight=1.0, weight_decay=0, train_blocks=None, seed=0).
    Log entries: step, loss (the total), dpo_loss, sft_loss, accuracy (share of pairs
    whose implicit reward ranks the chosen answer first), margin, chosen_logp and
    rejected_logp (mean summed log-probabilities under the policy), seconds.
    callback(event) gets the Trainer's event dicts (course_lib.finetune); returning False stops.
    """
    from ..optim import make_optimizer

    cfg = DPOConfig.build(config, settings, "DPO")
    pairs = training_pairs(pairs)
    device = next(policy.parameters()).device
    pad = pad_id(tokenizer)
    with training_top_blocks(policy, policy, cfg.train_blocks):
        optimizer = make_optimizer(policy, lr=cfg.lr, weight_decay=cfg.weight_decay, device_type=device.type)
        reference.eval()
        batches = list(shuffled_batches(len(pairs), cfg.batch_size, cfg.steps, random.Random(cfg.seed)))
        show = {"loss": "loss", "acc": "accuracy"}
        with RunLog(f"DPO (beta={cfg.beta})", cfg.steps, progress, callback, show) as run:
            for step, batch in enumerate(batches):
                prompts, chosen, rejected = pair_batch(tokenizer, [pairs[i] for i in batch], policy.config.block_size)
                X, mask, _ = pack(prompts + prompts, chosen + rejected, pad)
                X, mask = X.to(device), mask.to(device)
                with torch.no_grad():
                    ref = answer_logprob(reference, X, mask)
                policy.eval()  # dropout off: policy and reference must agree exactly at the start
                lr = scheduled_lr(optimizer, step, cfg.steps, cfg.lr)
                logp = answer_logprob(policy, X, mask)
                n = len(batch)
                preference_loss, margin = dpo_loss(logp[:n], logp[n:], ref[:n], ref[n:], cfg.beta)
                sft_loss = (-logp[:n] / mask[:n].sum(-1)).mean()  # cross-entropy per token of the chosen answers
                loss = preference_loss + cfg.sft_weight * sft_loss
                optimizer_step(optimizer, loss, policy, what="DPO", step=step + 1, lr=cfg.lr)
                entry = {"loss": loss.item(), "dpo_loss": preference_loss.item(), "sft_loss": sft_loss.item(),
                         "accuracy": float((margin > 0).float().mean()), "margin": margin.mean().item(),
                         "chosen_logp": logp[:n].mean().item(), "rejected_logp": logp[n:].mean().item()}
                if not run.record(entry, train_loss=entry["loss"], tokens=X.numel(), lr=lr):
                    break
    return run.log
