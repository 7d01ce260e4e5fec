"""Labels that count: does a learner's own taste, 20 labels of it, move the assistant?

For each trait of `course_lib.rlhf.taste` (a question back to the user, an exclamation, a
short answer), a simulated learner with that one taste labels 20 pairs made from chat-sft's
answers to training questions (each pair: one answer with the trait, one without);
`train_on_my_labels` runs DPO from chat-sft on those 20 labels alone (its small default
settings); then the trait's rate is measured on the 126 held-out questions (never in any
training data), before and after. Goal (issue 15, goal 3): a rise of at least 30 points,
training in at most 60 s on a 2-core CPU.

    python bench/my_labels_bench.py                       # every trait, seed 0
    python bench/my_labels_bench.py --traits question --seeds 0 1 2
    python bench/my_labels_bench.py --write-results       # also record in bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_POINTS = 30
# Why a trait misses the goal, and what else was tried (measured with this script).
MISSED_WHY = {
    "short": ("chat-sft's answers are short already (its rate is the 'chat-sft' column), and many right answers "
              "need more than six words (\"Romeo is a character in Romeo and Juliet.\" has eight), so the rate "
              "cannot rise far: the labels remove the asides and the rude tails, not the words an answer needs. "
              "Also tried: 40 DPO steps instead of 20 (seed 0, with answers capped at 32 tokens then): 48.4% -> 71.0%, +22.6 ± 4.3, no better than 20 steps (+21.4); cutting the "
              "first sentence to six words made the pairs teach wrong answers (\"Romeo is a character in Romeo.\"), "
              "so the rewrite keeps whole sentences. Training every block instead of the top two (+24.6, +27.8) or "
              "twice the learning rate (+26.2, +29.0) does no better: the ceiling is the answers' own length. "
              "The lesson offers \"short\" anyway and says that it moves less."),
}
GOAL_SECONDS = 60


def rise_se(before: float, after: float, n: int) -> float:
    """Standard error of after - before for two shares of n answers each (independent draws)."""
    return (before * (1 - before) / n + after * (1 - after) / n) ** 0.5


def run(traits, seeds, labels, samples, temperature, overrides=None):
    import torch

    from course_lib.checkpoint import load_pretrained
    from course_lib.rlhf import taste

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    sft, tok, _ = load_pretrained("chat-sft")
    prompts = taste.heldout_messages()
    t0 = time.perf_counter()
    before, _ = taste.trait_rates(sft, tok, prompts, samples=samples, temperature=temperature)
    print(f"chat-sft on {len(prompts)} held-out questions x {samples}: "
          + ", ".join(f"{t} {r:.1%}" for t, r in before.items()) + f" ({time.perf_counter() - t0:.0f} s)")
    rows = []
    for trait in traits:
        for seed in seeds:
            pairs = taste.candidate_pairs(sft, tok, trait, n=labels, seed=seed)
            records = taste.simulated_learner(pairs, trait)
            t0 = time.perf_counter()
            c0 = time.process_time()
            policy, log = taste.train_on_my_labels(sft, tok, records, seed=seed, **(overrides or {}))
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            after, answers = taste.trait_rates(policy, tok, prompts, samples=samples, temperature=temperature)
            n = len(answers)
            row = {"trait": trait, "seed": seed, "steps": len(log), "labels": sum(not r.get("tie") for r in records),
                   "before": before[trait], "after": after[trait], "others": after, "n": n,
                   "seconds": seconds, "cpu": cpu, "example": (prompts[0], answers[0]),
                   "example_pair": pairs[0]}
            row["rise"] = row["after"] - row["before"]
            row["se"] = rise_se(row["before"], row["after"], n)
            rows.append(row)
            print(f"{trait:9} seed {seed}: {row['labels']} labels, DPO {seconds:.0f} s wall ({cpu:.0f} s CPU); "
                  f"{row['before']:.1%} -> {row['after']:.1%} (rise {100 * row['rise']:+.1f} ± "
                  f"{100 * row['se']:.1f} points); e.g. {answers[0]!r}")
    return before, rows


def section(before, rows, args, total_s):
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cmd = "python bench/my_labels_bench.py " + " ".join(sys.argv[1:])
    lines = [
        "## Labels that count (your own 20 labels, DPO from chat-sft)",
        "",
        "A simulated learner with one consistent taste labels 20 pairs made from chat-sft's answers to "
        "training questions (each pair: one answer with the trait, the same answer without it; "
        "`course_lib.rlhf.taste.candidate_pairs`, `simulated_learner`); `train_on_my_labels` runs DPO from "
        f"chat-sft on those labels alone ({_settings()}); the trait's rate is measured on the 126 held-out "
        f"questions, {args.samples} answers each at temperature {args.temperature}, before and after. "
        f"Goal (issue 15): a rise of at least {GOAL_POINTS} points, training in at most {GOAL_SECONDS} s. The ± is "
        "the standard error of the rise (two shares of independent answers).",
        "",
        f"- Machine: {os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__}, "
        f"Python {platform.python_version()}, load average {load:.1f} at the end (other jobs were running: "
        "wall times are inflated; CPU seconds are the process's own)",
        f"- Command: `{cmd.strip()}` ({total_s / 60:.1f} minutes in all)",
        f"- Date: {datetime.date.today().isoformat()}",
        "",
        "| trait | seed | labels | DPO steps | chat-sft | after | rise (points) | goal | DPO wall / CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    from course_lib.rlhf.taste import TRAITS

    for r in rows:
        ok = "met" if r["rise"] * 100 >= GOAL_POINTS else "**not met**"
        lines.append(f"| {r['trait']} ({TRAITS[r['trait']]}) | {r['seed']} | {r['labels']} | {r['steps']} | {r['before']:.1%} | "
                     f"{r['after']:.1%} | {100 * r['rise']:+.1f} ± {100 * r['se']:.1f} | {ok} | "
                     f"{r['seconds']:.0f} s / {r['cpu']:.0f} s |")
    missed = sorted({r["trait"] for r in rows if r["rise"] * 100 < GOAL_POINTS})
    if missed:
        lines += ["", f"Not met in every run: {', '.join(missed)}. " + " ".join(MISSED_WHY.get(t, "") for t in missed)]
    lines += ["", "An answer to the first held-out question after each run, and the first pair its learner labelled:", ""]
    for r in rows:
        p, a = r["example"]
        pair = r["example_pair"]
        lines.append(f"- {r['trait']} (seed {r['seed']}): {p!r} -> {a!r}; pair: {pair['a']!r} / {pair['b']!r}")
    return "\n".join(lines) + "\n"


def _settings() -> str:
    from course_lib.rlhf.taste import MY_LABELS_SETTINGS as s

    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in s.items())


def main(argv=None):
    from course_lib.rlhf.taste import TRAITS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traits", nargs="+", default=list(TRAITS), choices=list(TRAITS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--labels", type=int, default=20, help="pairs the simulated learner labels")
    parser.add_argument("--samples", type=int, default=2, help="answers per held-out question")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--steps", type=int, default=None, help="DPO steps (default: train_on_my_labels' own)")
    parser.add_argument("--write-results", action="store_true", help="record the figures in bench/RESULTS.md")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    overrides = {} if args.steps is None else {"steps": args.steps}
    before, rows = run(args.traits, args.seeds, args.labels, args.samples, args.temperature, overrides)
    text = section(before, rows, args, time.perf_counter() - t0)
    print()
    print(text)
    if args.write_results:
        from results import write_section

        write_section("Labels that count (your own 20 labels, DPO from chat-sft)", text)
    return 0 if all(r["rise"] * 100 >= GOAL_POINTS for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
