"""Wall time, process start included, for the CPU to reach a validation loss.

Runs the course's command line as a fresh process, as a learner would:

    python -m course_lib.train --data ../shared/bench/tinyshakespeare.txt --tokenizer char \\
        --preset tiny-char-fast --target-val-loss 1.88 --out <tmp>

and measures from just before the process starts to just after it exits: Python's start,
importing torch, reading and tokenizing the text, training and evaluating on the whole
validation split (the last 10% of the text). Reference: nanoGPT's documented CPU run reaches
1.874 in about 95 s on a 2-core machine (bench/RESULTS.md).

    python bench/time_to_loss.py                 # 3 runs, prints each and the median
    python bench/time_to_loss.py --runs 1 -- --lr 5e-3 --max-steps 1200   # try other settings
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "tinyshakespeare.txt"


def run_once(data, preset, target, extra=()) -> dict:
    with tempfile.TemporaryDirectory(prefix="time_to_loss_") as out:
        cmd = [sys.executable, "-m", "course_lib.train", "--data", str(data), "--tokenizer", "char",
               "--preset", preset, "--target-val-loss", str(target), "--out", out, "--no-progress", *extra]
        # A learner's shell has no OMP_WAIT_POLICY; the test suite sets PASSIVE (sleeping
        # threads share 2 cores better), which makes these small steps ~1.6x slower.
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"the training run failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    summary = lines[-1]
    return {"seconds": round(seconds, 2), "val_loss": summary["val_loss"], "reached": summary["target_reached"],
            "steps": summary["steps"], "tokens": summary["tokens"], "train_seconds": summary["elapsed"],
            "tokens_per_s": summary["tokens_per_s"], "load_before": round(load, 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--preset", default="tiny-char-fast")
    parser.add_argument("--target", type=float, default=1.88)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("extra", nargs="*", help="more flags for course_lib.train (after --)")
    args = parser.parse_args(argv)
    if not Path(args.data).exists():
        raise SystemExit(f"no benchmark text at {args.data}: pass --data PATH to tinyshakespeare.txt")
    print(f"{args.runs} run(s): preset {args.preset}, target val loss {args.target}, data {args.data}"
          + (f", extra flags {args.extra}" if args.extra else ""), flush=True)
    runs = []
    for i in range(args.runs):
        r = run_once(args.data, args.preset, args.target, args.extra)
        runs.append(r)
        print(f"run {i + 1}: {r['seconds']:.1f} s wall, val loss {r['val_loss']:.4f} "
              f"({'reached' if r['reached'] else 'NOT reached'}), {r['steps']} steps, {r['tokens']:,} tokens, "
              f"training {r['train_seconds']:.1f} s at {r['tokens_per_s']:,.0f} tokens/s, "
              f"load average before {r['load_before']}", flush=True)
    median = statistics.median(r["seconds"] for r in runs)
    all_reached = all(r["reached"] for r in runs)
    print(f"median: {median:.1f} s wall to val loss <= {args.target} "
          f"({'all runs reached it' if all_reached else 'NOT every run reached it'})")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "median_seconds": median, "target": args.target,
                                               "preset": args.preset, "extra": args.extra}, indent=2) + "\n")
    return 0 if all_reached else 1


if __name__ == "__main__":
    sys.exit(main())
