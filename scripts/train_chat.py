"""Make the course's chat checkpoints, one stage after another, and time each stage.

    python scripts/train_chat.py --base data/checkpoints/shakespeare-bpe

runs, in this order (each is also a command of its own):

    python scripts/make_dialogues.py --check          # the dialogue set is up to date
    python -m course_lib.chat sft --base BASE --out data/checkpoints/chat-sft
    python -m course_lib.rlhf ppo --sft data/checkpoints/chat-sft --out data/checkpoints/chat-ppo --save-rm runs/chat-rm --seed 1
    python -m course_lib.rlhf dpo --sft data/checkpoints/chat-sft --out data/checkpoints/chat-dpo
    python -m course_lib.rlhf eval --sft data/checkpoints/chat-sft --models data/checkpoints/chat-ppo data/checkpoints/chat-dpo
    python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm      # only with --hack

The reward model is kept in runs/chat-rm (git-ignored) for the reward-hacking stage.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(args: list) -> float:
    print("\n$ " + " ".join(args), flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable] + args, cwd=REPO, check=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="data/checkpoints/shakespeare-bpe")
    parser.add_argument("--out-dir", default="data/checkpoints")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-sft", action="store_true", help="reuse the existing chat-sft checkpoint")
    parser.add_argument("--hack", action="store_true", help="also run the reward-hacking demonstration")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    sft, ppo, dpo = str(out / "chat-sft"), str(out / "chat-ppo"), str(out / "chat-dpo")
    dev = ["--device", args.device]
    times = {}
    times["dialogues check"] = run(["scripts/make_dialogues.py", "--check"])
    if not args.skip_sft:
        times["sft"] = run(["-m", "course_lib.chat", "sft", "--base", args.base, "--out", sft] + dev)
    rm = "runs/chat-rm"
    times["reward model + ppo + eval"] = run(["-m", "course_lib.rlhf", "ppo", "--sft", sft, "--out", ppo,
                                              "--save-rm", rm, "--seed", "1"] + dev)
    times["dpo + eval"] = run(["-m", "course_lib.rlhf", "dpo", "--sft", sft, "--out", dpo] + dev)
    times["final eval"] = run(["-m", "course_lib.rlhf", "eval", "--sft", sft, "--models", ppo, dpo] + dev)
    if args.hack:
        times["reward hacking"] = run(["-m", "course_lib.rlhf", "hack", "--sft", sft, "--rm", rm] + dev)
    print("\nwall time per stage (s): " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
