"""PPO: reinforcement learning with the reward model, on a KL leash to the SFT model.

Each step samples answers with the current policy, scores them with the reward model,
subtracts a penalty for drifting away from the SFT model (the KL "leash"), and nudges
the policy toward the answers that scored above what its value head expected. Without
the leash the policy finds answers the reward model loves and the rater does not: the
reward-hacking demonstration (`reward_hacking_demo`, and the committed full run that
lesson 11 plots, `load_hacking_run`).

    >>> log = ppo(policy, sft_model, reward_model, tokenizer, training_prompts(), steps=40)
    >>> log = ppo(policy, sft_model, reward_model, tokenizer, prompts, config=PPOConfig(kl_coef=0.0))
"""
from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import paths
from ..chat import END, decode_answer, load_dialogues, pad_id, prompt_ids, special_id, stop_ids
from ..finetune import RunLog, optimizer_step
from ..sampling import sample_batch
from ..settings import Settings, _f, number, optional, whole
from .rater import rate
from .scoring import exact_kl, pack, token_logprobs, training_top_blocks


class ValueHead(nn.Module):
    """Predicts, at each position of an answer, the reward still to come (the "value").

    It reads the policy's final hidden vectors but does not train them (the vectors are
    detached), so learning values cannot disturb the policy's language.
    """

    def __init__(self, n_embd: int):
        super().__init__()
        self.linear = nn.Linear(n_embd, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.detach()).squeeze(-1)



def policy_forward(gpt, value_head: ValueHead, X: torch.Tensor) -> tuple:
    """One pass of the policy: (logits (B, T, V), values (B, T))."""
    h = gpt.hidden(X)  # (B, T, C)
    return gpt.lm_head(h), value_head(h)



@dataclass
class PPOConfig(Settings):
    """The settings of a PPO run (the defaults are the shipped model's recipe)."""

    steps: int = _f(40, "policy updates", whole(1))
    prompts_per_step: int = _f(32, "answers sampled per update", whole(1))
    max_new_tokens: int = _f(24, "answer length limit (tokens)", whole(1))
    temperature: float = _f(1.0, "sampling temperature while exploring (log-probs use the same)", number(above=0))
    lr: float = _f(1e-4, "policy learning rate (AdamW)", number(above=0))
    value_lr: float = _f(1e-3, "value head learning rate (Adam)", number(above=0))
    kl_coef: float = _f(0.05, "beta: reward penalty per nat of KL from the SFT model (the leash; 0 = none)",
                        number(at_least=0))
    clip: float = _f(0.2, "PPO clipping: how far one update may move a token's probability ratio", number(above=0))
    value_clip: float = _f(0.2, "how far one update may move a value prediction", number(above=0))
    gamma: float = _f(1.0, "discount (1: a reward at the end counts fully for every token)",
                      number(at_least=0, at_most=1))
    lam: float = _f(0.95, "GAE lambda: mixes short and long advantage estimates", number(at_least=0, at_most=1))
    epochs: int = _f(2, "passes over each batch of samples", whole(1))
    no_end_penalty: float = _f(-1.0, "added to the reward of an answer cut off before <|end|>", number())
    train_blocks: Optional[int] = _f(None, "train only the top this many blocks (None = all)", optional(whole(0)))
    seed: int = _f(0, "random seed for the prompts and the sampling", whole(0))


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float) -> tuple:
    """Generalised advantage estimation over answer tokens.

    rewards, values, mask: (B, T), answer positions marked by mask (contiguous).
    delta_t = r_t + gamma V_{t+1} - V_t; A_t = delta_t + gamma lam A_{t+1}; returns = A + V.
    """
    B, T = rewards.shape
    adv = torch.zeros_like(rewards)
    next_value = torch.zeros(B)
    next_adv = torch.zeros(B)
    for t in reversed(range(T)):
        m = mask[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        a = delta + gamma * lam * next_adv
        adv[:, t] = a * m
        next_value = torch.where(m > 0, values[:, t], next_value)
        next_adv = torch.where(m > 0, a, next_adv)
    return adv, adv + values


def _whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = (x * mask).sum() / mask.sum()
    var = (((x - mean) * mask) ** 2).sum() / mask.sum()
    return (x - mean) * torch.rsqrt(var + 1e-8) * mask


def _same_length_batch(buckets: dict, n: int, rng: random.Random) -> list:
    """n prompts of one token length: the length is drawn in proportion to how many prompts
    have it, then the prompts from that group (repeats allowed when it is small).

    One length means one batch for sampling (no padding needed), which makes the
    exploration step several times faster on a CPU than answering prompts one by one.
    """
    lengths = sorted(buckets)
    length = rng.choices(lengths, weights=[len(buckets[k]) for k in lengths])[0]
    group = buckets[length]
    return rng.sample(group, n) if len(group) >= n else [rng.choice(group) for _ in range(n)]



def ppo(policy, reference, reward_model, tokenizer, prompts: list, config: PPOConfig | None = None,
        progress: bool = True, callback=None, **overrides) -> list:
    """Fine-tune `policy` (a GPT, changed in place) with PPO; returns the log, one dict per step.

    Each step: sample an answer to each of `prompts_per_step` prompts (all of the same
    token length, so they are answered in one batch); reward = the reward
    model's score at the end, minus kl_coef x (log p_policy - log p_reference) at every
    token (the KL leash to the frozen reference, the SFT model); advantages by GAE with
    a value head; then `epochs` clipped policy-gradient updates.

    Log entries: step, reward (mean reward-model score), kl (mean KL to the reference per
    answer, in nats, `exact_kl`: summed over the vocabulary at each answer position, so never
    negative), rater (mean simulated-rater score: the judge PPO never sees), length (mean
    answer tokens), samples (three (prompt, answer, reward) triples), seconds.
    Keyword overrides change fields of the config, e.g. ppo(..., kl_coef=0.0).
    callback(event) gets the Trainer's event dicts (course_lib.finetune); returning False stops.
    """
    from ..optim import make_optimizer

    cfg = PPOConfig.build(config, overrides, "PPO")
    if isinstance(prompts, (str, dict)) or not isinstance(prompts, (list, tuple)) or not prompts:
        raise ValueError(f"PPO needs a non-empty list of prompts to answer (messages or conversations), not "
                         f"{prompts!r:.60}")
    device = next(policy.parameters()).device
    block = policy.config.block_size
    value_head = ValueHead(policy.config.n_embd).to(device)
    with training_top_blocks(policy, policy, cfg.train_blocks):
        optimizer = make_optimizer(policy, lr=cfg.lr, weight_decay=0.0, device_type=device.type)
        value_opt = torch.optim.Adam(value_head.parameters(), lr=cfg.value_lr)
        reference.eval()
        reward_model.eval()
        stops = stop_ids(tokenizer)
        end_id = special_id(tokenizer, END)
        pad = pad_id(tokenizer)
        rng = random.Random(cfg.seed)
        encoded = {p: prompt_ids(p, tokenizer, block, cfg.max_new_tokens) for p in dict.fromkeys(prompts)}
        buckets = {}  # token length -> prompts (repeats kept: a frequent prompt is drawn more often)
        for p in prompts:
            buckets.setdefault(len(encoded[p]), []).append(p)
        show = {"reward": "reward", "kl": "kl", "rater": "rater"}
        with RunLog(f"PPO (kl_coef={cfg.kl_coef})", cfg.steps, progress, callback, show) as run:
            for step in range(cfg.steps):
                # 1. Explore: sample answers with the current policy, for prompts of one length.
                batch_prompts = _same_length_batch(buckets, cfg.prompts_per_step, rng)
                p_ids = [encoded[p] for p in batch_prompts]
                answers = sample_batch(policy, p_ids, cfg.max_new_tokens, cfg.temperature,
                                       seed=cfg.seed * 100_003 + step, stop=stops)
                answers = [a if a else [end_id] for a in answers]
                X, mask, lengths = pack(p_ids, answers, pad)
                X = X.to(device)
                # 2. Score: reward model at the end, KL to the reference at every token.
                with torch.no_grad():
                    policy.eval()
                    logits, values = policy_forward(policy, value_head, X)
                    old_logp = token_logprobs(logits / cfg.temperature, X).cpu()
                    values = values.cpu()
                    ref_logits, _ = reference(X)
                    ref_logp = token_logprobs(ref_logits / cfg.temperature, X).cpu()
                    ended = torch.tensor([a[-1] in stops for a in answers])
                    closed = [a if a[-1] in stops else a + [end_id] for a in answers]
                    Xr, _, len_r = pack(p_ids, closed, pad)
                    scores = reward_model(Xr.to(device), len_r).float().cpu()
                    scores = scores + (~ended).float() * cfg.no_end_penalty
                # Values are predicted from the position before each answer token.
                values = F.pad(values[:, :-1], (1, 0)) * mask
                kl = (old_logp - ref_logp) * mask  # per token: the sampled log-ratio (the penalty)
                distance = exact_kl(logits, ref_logits, mask, cfg.temperature).cpu()  # what the log prints
                rewards = -cfg.kl_coef * kl
                last = (lengths - 1).clamp(min=0)
                rewards[torch.arange(len(answers)), last] += scores
                adv, returns = gae(rewards, values, mask, cfg.gamma, cfg.lam)
                adv = _whiten(adv, mask)
                # 3. Learn: clipped policy-gradient steps and value regression. The policy stays in
                # eval mode (dropout off): the ratio new/old must compare the same function.
                for _ in range(cfg.epochs):
                    logits, new_values = policy_forward(policy, value_head, X)
                    new_logp = token_logprobs(logits / cfg.temperature, X)
                    new_values = F.pad(new_values[:, :-1], (1, 0))
                    m = mask.to(device)
                    ratio = torch.exp(new_logp - old_logp.to(device))
                    a = adv.to(device)
                    pg = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip, 1 + cfg.clip))
                    pg_loss = (pg * m).sum() / m.sum()
                    v_old, R = values.to(device), returns.to(device)
                    v_clipped = v_old + (new_values - v_old).clamp(-cfg.value_clip, cfg.value_clip)
                    v_loss = 0.5 * (torch.max((new_values - R) ** 2, (v_clipped - R) ** 2) * m).sum() / m.sum()
                    value_opt.zero_grad(set_to_none=True)
                    # (clears the policy's gradients; stops before the weights change on a NaN)
                    optimizer_step(optimizer, pg_loss + v_loss, policy, what="PPO", step=step + 1, lr=cfg.lr)
                    value_opt.step()
                policy.eval()
                texts = [decode_answer(tokenizer, a) for a in answers]
                rater_scores = [rate(p, t)[0] for p, t in zip(batch_prompts, texts)]
                entry = {
                    "reward": float(scores.mean()),
                    "kl": float(distance.mean()),
                    "rater": sum(rater_scores) / len(rater_scores),
                    "length": float(mask.sum(-1).mean()),
                    "ended": float(ended.float().mean()),
                    "samples": [(batch_prompts[i], texts[i], round(float(scores[i]), 3))
                                for i in range(min(3, len(texts)))],
                }
                # The event's train_loss: the PPO objective of the last update (clipped policy loss + value loss).
                if not run.record(entry, train_loss=(pg_loss + v_loss).item(), tokens=X.numel(), lr=cfg.lr):
                    break
    return run.log


def training_prompts() -> list:
    """The user messages of the training dialogues, as often as they occur there (so a
    sample of them has the same mix of kinds of question): what PPO practises answering."""
    return [turn["content"] for record in load_dialogues("train")
            for turn in record["messages"] if turn["role"] == "user"]


# =======================================================================================
# Reward hacking: PPO without the leash
# =======================================================================================

def reward_hacking_demo(sft_model, reward_model, tokenizer, prompts: list,
                        kl_coefs=(0.0, 0.1), config: PPOConfig | None = None, progress: bool = True,
                        **overrides) -> dict:
    """Run PPO from the same SFT model with different KL coefficients and report, for each,
    how the reward model's score and the rater's score moved.

    Without the leash (kl_coef=0) the policy drifts until it finds answers the reward
    model scores highly but the rater does not like: the reward goes up, the rater's
    score goes down. Returns {kl_coef: {"reward_start", "reward_end", "rater_start",
    "rater_end", "kl_end", "samples", "log"}}; start and end are means over the first
    and last fifth of the steps.
    """
    results = {}
    for beta in kl_coefs:
        policy = copy.deepcopy(sft_model)
        log = ppo(policy, sft_model, reward_model, tokenizer, prompts, config, progress=progress,
                  **{**overrides, "kl_coef": beta})
        k = max(1, len(log) // 5)
        head, tail = log[:k], log[-k:]

        def mean(entries, key):
            return sum(e[key] for e in entries) / len(entries)

        results[beta] = {
            "reward_start": mean(head, "reward"), "reward_end": mean(tail, "reward"),
            "rater_start": mean(head, "rater"), "rater_end": mean(tail, "rater"),
            "kl_end": mean(tail, "kl"), "samples": [s for e in tail for s in e["samples"]][:6],
            "log": log,
        }
    return results


HACKING_RUN = paths.DATA_DIR / "reward_hacking.json"
HACKING_COMMAND = ("python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm "
                   "--json data/reward_hacking.json")


def load_hacking_run(path=None) -> dict:
    """The committed full reward-hacking run (made by `HACKING_COMMAND`; the reward model in
    runs/chat-rm comes from `python -m course_lib.rlhf ppo ... --save-rm runs/chat-rm`).

    Returns {"hacking": {kl_coef (str): summary as in `reward_hacking_demo`, without the
    log}, "logs": {kl_coef (str): [one dict per PPO step: step, reward, rater, kl, length,
    ...]}, "reward_model": its report, "command": what made it, "seconds"}.
    """
    path = Path(path) if path is not None else HACKING_RUN
    if not path.exists():
        raise FileNotFoundError(f"no reward-hacking run at {path}; make it with: {HACKING_COMMAND}")
    return json.loads(path.read_text(encoding="utf-8"))
