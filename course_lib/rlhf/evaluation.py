"""Evaluation with the simulated rater, never the reward model: win rate, accuracy, KL.

The reward model is what PPO optimises, so it cannot also be the judge (PPO learns to
fool it: reward hacking). Here the rater scores sampled answers to held-out questions:
the win rate against the SFT model (ties count half, with a standard error from
resampling questions), accuracy on questions with a checkable answer, and how far a
tuned model has moved from the SFT model (KL).
"""
from __future__ import annotations

import random

import torch

from ..chat import END, answer_many, load_dialogues, pad_id, prompt_ids, special_id, stop_ids
from ..sampling import sample_batch
from .rater import _regular_plural, classify_prompt, compare, fact_answer, is_correct, rate, words
from .scoring import exact_kl, pack

def heldout_prompts() -> list:
    """The held-out questions of the dialogue set (records with prompt, answer, scored)."""
    return load_dialogues("heldout")




SCORED_TASKS = ("arithmetic", "author", "character", "plural")


def _seen_kind(task: str, info: dict) -> bool:
    """Is a training question of the kind the held-out set scores? (sums, authors, title
    characters, plurals that follow the rules)"""
    if task == "character":
        return info["name"].lower() in info["answer"].lower()  # "Juliet" in "Romeo and Juliet"
    if task == "plural":
        return info["answer"] == _regular_plural(info["word"])
    return task in ("arithmetic", "author")


def seen_questions(n: int = 89, seed: int = 0) -> list:
    """`n` scored questions the model was trained on, in the held-out records' format.

    Drawn from the one-turn conversations of data/dialogues/train.jsonl, only of the kinds the
    held-out set scores (sums, who wrote a play, title characters, regular plurals), each
    prompt once, with its right answer from the answer key (not the training answer, which
    may be spoiled on purpose). The tasks get the held-out set's shares (89 gives the same
    count per task: 45, 16, 12, 16). Same seed, same questions.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (how many questions) must be a whole number >= 1, not {n!r}")
    pools = {task: {} for task in SCORED_TASKS}
    for rec in load_dialogues("train"):
        if len(rec["messages"]) != 2:
            continue
        prompt = rec["messages"][0]["content"]
        task, info = classify_prompt(prompt)
        if task in pools and _seen_kind(task, info):
            pools[task].setdefault(prompt, info)
    held = [r for r in heldout_prompts() if r.get("scored")]
    shares = {t: sum(r["task"] == t for r in held) or 1 for t in SCORED_TASKS}
    total = sum(shares.values())
    quota = {t: n * shares[t] // total for t in SCORED_TASKS}
    by_remainder = sorted(SCORED_TASKS, key=lambda t: -(n * shares[t] % total))
    for t in by_remainder[: n - sum(quota.values())]:
        quota[t] += 1
    rng = random.Random(seed)
    out = []
    for task in SCORED_TASKS:
        prompts = sorted(pools[task])
        if quota[task] > len(prompts):
            raise ValueError(f"only {len(prompts)} seen {task} questions, {quota[task]} asked for")
        for prompt in sorted(rng.sample(prompts, quota[task])):
            info = pools[task][prompt]
            out.append({"id": f"seen-{len(out):04d}", "task": task, "prompt": prompt, "answer": info["answer"],
                        "reference": fact_answer(task, info), "scored": True})
    return out


def accuracy_by_task(model, tokenizer, questions: list | None = None, samples: int = 1, temperature: float = 0.0,
                     seed: int = 0, max_new_tokens: int = 48) -> dict:
    """Strict accuracy (`rater.is_correct`) per task: {task: {"right", "n", "accuracy", "se",
    "questions", "se_method"}, ..., "all": {...}, "answers": [[text, ...] per question]}.

    `questions`: records with "prompt" and "task" (default: the held-out scored questions;
    `seen_questions()` gives questions from training). Greedy when temperature is 0 and
    samples 1. The standard error: for one answer per question the binomial one,
    sqrt(p (1 - p) / n); for several, `bootstrap_se` (resampling questions, since answers to
    the same question are alike).
    """
    if questions is None:
        questions = [r for r in heldout_prompts() if r.get("scored")]
    questions = list(questions)
    if not questions:
        raise ValueError("no questions to score")
    prompts = [q["prompt"] for q in questions]
    answers = sample_answers(model, tokenizer, prompts, samples, temperature, seed, max_new_tokens)
    per_task = {}
    for q, texts in zip(questions, answers):
        task = q.get("task") or classify_prompt(q["prompt"])[0]
        per_task.setdefault(task, []).append([float(is_correct(q["prompt"], t)) for t in texts])
    per_task["all"] = [oks for task in sorted(per_task) for oks in per_task[task]]
    report = {}
    for task in sorted(per_task, key=lambda t: (t == "all", t)):
        points = per_task[task]
        flat = [x for oks in points for x in oks]
        p = sum(flat) / len(flat)
        if samples == 1:
            se, method = (p * (1 - p) / len(flat)) ** 0.5, "binomial"
        else:
            se, method = bootstrap_se(points), "bootstrap over questions"
        report[task] = {"right": int(sum(flat)), "n": len(flat), "accuracy": p, "se": se,
                        "questions": len(points), "se_method": method}
    report["answers"] = answers
    return report


def sample_answers(model, tokenizer, prompts: list, samples: int = 2, temperature: float = 1.0, seed: int = 0,
                   max_new_tokens: int = 24) -> list:
    """`samples` answers for each prompt: a list (per prompt) of lists of texts."""
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples (answers per prompt) must be a whole number >= 1, not {samples!r}")
    out = [[] for _ in prompts]
    for k in range(samples):
        texts = answer_many(model, tokenizer, prompts, temperature=temperature, seed=seed + 7919 * k,
                                     max_new_tokens=max_new_tokens)
        for i, t in enumerate(texts):
            out[i].append(t)
    return out


def evaluate(model, tokenizer, heldout: list | None = None, baseline_answers: list | None = None,
             samples: int = 2, temperature: float = 1.0, seed: int = 0, max_new_tokens: int = 24) -> dict:
    """How good are the model's answers on held-out prompts, by the simulated rater?

    Returns win_rate (share of comparisons the rater decides for this model against
    `baseline_answers`, e.g. the SFT model's, ties counting half) with its standard error
    (win_rate_se, by resampling questions), accuracy on the
    questions with a checkable answer, the mean rater score, the share of rude,
    rambling and off-topic answers, mean words, and a few examples. Also "answers", to
    serve as another evaluation's baseline.
    """
    heldout = heldout if heldout is not None else heldout_prompts()
    if not heldout:
        raise ValueError("no held-out questions to evaluate on")
    prompts = [r["prompt"] for r in heldout]
    answers = sample_answers(model, tokenizer, prompts, samples, temperature, seed, max_new_tokens)
    report = {"prompts": len(prompts), "samples_per_prompt": samples, "temperature": temperature}
    scores, reasons, by_task = [], [], {}
    for r, texts in zip(heldout, answers):
        for t in texts:
            s, why = rate(r["prompt"], t)
            scores.append(s)
            reasons.append(why)
            if r.get("scored"):
                by_task.setdefault(r.get("task", "other"), []).append(is_correct(r["prompt"], t))
    n = len(scores)
    scored = [ok for oks in by_task.values() for ok in oks]
    report["accuracy"] = sum(scored) / max(len(scored), 1)
    report["accuracy_by_task"] = {task: sum(oks) / len(oks) for task, oks in sorted(by_task.items())}
    report["rater_score"] = sum(scores) / n
    report["rude"] = sum("rude" in w for w in reasons) / n
    report["rambling"] = sum("rambles" in w for w in reasons) / n
    report["off_topic"] = sum(("off topic" in w or "does not answer" in w or "does not name" in w
                               or "does not decline" in w) for w in reasons) / n
    report["words"] = sum(len(words(t)) for texts in answers for t in texts) / n
    if baseline_answers is not None:
        points = []  # per question: 1 for each win, 0.5 for each tie, 0 for each loss
        for r, mine, theirs in zip(heldout, answers, baseline_answers):
            points.append([{"a": 1.0, "tie": 0.5, "b": 0.0}[compare(r["prompt"], a, b)["winner"]]
                           for a, b in zip(mine, theirs)])
        flat = [x for q in points for x in q]
        report.update(win_rate=sum(flat) / len(flat), win_rate_se=bootstrap_se(points),
                      wins=flat.count(1.0), ties=flat.count(0.5), losses=flat.count(0.0))
    report["examples"] = [(r["prompt"], texts[0]) for r, texts in list(zip(heldout, answers))[:: max(1, len(heldout) // 8)]]
    report["answers"] = answers
    return report


def bootstrap_se(points: list, resamples: int = 1000, seed: int = 0) -> float:
    """Standard error of the mean of `points` (a list per question) by resampling questions.

    Answers to the same question are alike, so the questions, not the single comparisons,
    are the independent draws: 126 questions x 10 answers is worth far fewer than 1,260
    independent comparisons.
    """
    if resamples < 2:
        raise ValueError(f"resamples must be at least 2 to measure a spread, not {resamples}")
    groups = [(sum(q), len(q)) for q in points if q]
    if len(groups) < 2:
        return 0.0
    rng = random.Random(seed)
    means = []
    for _ in range(resamples):
        pick = [groups[rng.randrange(len(groups))] for _ in groups]
        means.append(sum(s for s, _ in pick) / sum(n for _, n in pick))
    centre = sum(means) / len(means)
    return (sum((m - centre) ** 2 for m in means) / (len(means) - 1)) ** 0.5


def compare_models(models: dict, sft_model, tokenizer, heldout: list | None = None, samples: int = 2,
                   temperature: float = 1.0, seed: int = 0) -> dict:
    """Evaluate the SFT model and each model in `models` ({name: model}) against it."""
    heldout = heldout if heldout is not None else heldout_prompts()
    results = {"sft": evaluate(sft_model, tokenizer, heldout, samples=samples, temperature=temperature, seed=seed)}
    base = results["sft"]["answers"]
    # The SFT model against a second draw of itself: the win rate that means "no change".
    itself = evaluate(sft_model, tokenizer, heldout, base, samples, temperature, seed + 1)
    results["sft"].update({k: itself[k] for k in ("win_rate", "win_rate_se", "wins", "ties", "losses")})
    for name, model in models.items():
        results[name] = evaluate(model, tokenizer, heldout, base, samples, temperature, seed + 2)
    return results


def summarise(results: dict) -> dict:
    """The numbers of `compare_models` without the answers (printable as JSON)."""
    keys = ("win_rate", "win_rate_se", "accuracy", "rater_score", "rude", "rambling", "off_topic", "words", "kl")
    out = {}
    for name, r in results.items():
        out[name] = {k: round(r[k], 3) for k in keys if k in r}
        if "accuracy_by_task" in r:
            out[name]["accuracy_by_task"] = {t: round(a, 3) for t, a in r["accuracy_by_task"].items()}
    return out


@torch.no_grad()
def kl_to_reference(policy, reference, tokenizer, prompts: list, seed: int = 0, max_new_tokens: int = 24) -> float:
    """Mean KL(policy || reference) per answer on the policy's own sampled answers (nats): at each
    answer position the exact KL over the whole vocabulary (`scoring.exact_kl`), never negative."""
    block = policy.config.block_size
    p_ids = [prompt_ids(p, tokenizer, block, max_new_tokens) for p in prompts]
    answers = sample_batch(policy, p_ids, max_new_tokens, 1.0, seed=seed, stop=stop_ids(tokenizer))
    answers = [a if a else [special_id(tokenizer, END)] for a in answers]
    X, mask, _ = pack(p_ids, answers, pad_id(tokenizer))
    device = next(policy.parameters()).device
    X, mask = X.to(device), mask.to(device)
    with torch.no_grad():
        return float(exact_kl(policy(X)[0], reference(X)[0], mask).mean())
