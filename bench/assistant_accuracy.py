"""Strict accuracy per task of the chat models, on seen and held-out questions (issue 15).

    python bench/assistant_accuracy.py                                   # the shipped chat models
    python bench/assistant_accuracy.py --models runs/x runs/y --samples 5 --json runs/acc.json
    python bench/assistant_accuracy.py --show 6                          # also print answers

For each model: greedy (temperature 0, one answer) and sampled (temperature 1, `--samples`
answers per question) strict accuracy (`rlhf.is_correct`: the right fact and no wrong one)
per task, on the held-out scored questions (data/dialogues/heldout.jsonl) and on as many
questions seen in training (`rlhf.seen_questions`, same tasks and counts). The standard error
is binomial for greedy (one answer per question) and by resampling questions for sampled.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_lib import rlhf  # noqa: E402
from course_lib.checkpoint import load_checkpoint  # noqa: E402

SHIPPED = ["data/checkpoints/chat-sft", "data/checkpoints/chat-ppo", "data/checkpoints/chat-dpo"]


def measure(model, tok, samples: int, max_new_tokens: int, seed: int, greedy_only: bool = False) -> dict:
    sets = {"heldout": [r for r in rlhf.heldout_prompts() if r["scored"]], "seen": rlhf.seen_questions(89, seed)}
    out = {}
    for name, questions in sets.items():
        out[f"{name}/greedy"] = rlhf.accuracy_by_task(model, tok, questions, 1, 0.0, seed, max_new_tokens)
        if not greedy_only:
            out[f"{name}/T=1x{samples}"] = rlhf.accuracy_by_task(model, tok, questions, samples, 1.0, seed,
                                                                max_new_tokens)
        out[f"{name}/questions"] = questions
    return out


def table(results: dict) -> str:
    tasks = list(rlhf.SCORED_TASKS) + ["all"]
    lines = ["| model | set | decoding | " + " | ".join(tasks) + " |",
             "|---|---|---|" + "---|" * len(tasks)]
    for model, res in results.items():
        for key, rep in res.items():
            if key.endswith("/questions"):
                continue
            split, decoding = key.split("/")
            cells = [f"{100 * rep[t]['accuracy']:.0f}% ± {100 * rep[t]['se']:.0f} ({rep[t]['questions']})"
                     for t in tasks]
            lines.append(f"| {model} | {split} | {decoding} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=SHIPPED)
    p.add_argument("--samples", type=int, default=5, help="answers per question when sampling (T=1)")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--greedy-only", action="store_true")
    p.add_argument("--show", type=int, default=0, help="print this many greedy held-out answers per task")
    p.add_argument("--json", help="write the numbers (and the greedy answers) here")
    p.add_argument("--win-rate", type=int, default=0, metavar="SAMPLES",
                   help="also the win rate against chat-sft (rlhf.evaluate, SAMPLES answers per held-out question; "
                        "SFT answers seed 0, the model's seed 2)")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    results, answers, wins = {}, {}, {}
    baseline = None
    if args.win_rate:
        sft, sft_tok, _ = load_checkpoint("data/checkpoints/chat-sft")
        baseline = rlhf.evaluate(sft.eval(), sft_tok, samples=args.win_rate, seed=0)["answers"]
    for path in args.models:
        t0 = time.time()
        model, tok, _ = load_checkpoint(path)
        model.eval()
        name = Path(path).name
        res = measure(model, tok, args.samples, args.max_new_tokens, args.seed, args.greedy_only)
        if baseline is not None:
            rep = rlhf.evaluate(model, tok, baseline_answers=baseline, samples=args.win_rate, seed=2)
            wins[name] = {k: rep[k] for k in ("win_rate", "win_rate_se", "wins", "ties", "losses")}
            print(f"{name}: win rate vs chat-sft {100 * rep['win_rate']:.1f}% ± {100 * rep['win_rate_se']:.1f}",
                  file=sys.stderr)
        print(f"{name}: {time.time() - t0:.0f} s", file=sys.stderr)
        results[name] = res
        for split in ("heldout", "seen"):
            qs, greedy = res[f"{split}/questions"], res[f"{split}/greedy"]["answers"]
            answers[f"{name}/{split}"] = [{"task": q["task"], "prompt": q["prompt"], "answer": a[0],
                                           "right": rlhf.is_correct(q["prompt"], a[0])} for q, a in zip(qs, greedy)]
        if args.show:
            for task in rlhf.SCORED_TASKS:
                rows = [r for r in answers[f"{name}/heldout"] if r["task"] == task][: args.show]
                for r in rows:
                    print(f"  {name} {'RIGHT' if r['right'] else 'wrong'}  {r['prompt']!r} -> {r['answer']!r}")
    print(table(results))
    if args.json:
        slim = {m: {k: {t: {kk: v for kk, v in row.items()} for t, row in rep.items() if t != "answers"}
                    for k, rep in res.items() if not k.endswith("/questions")} for m, res in results.items()}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"accuracy": slim, "win_rate": wins, "greedy_answers": answers}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
