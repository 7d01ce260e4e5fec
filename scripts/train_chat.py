"""Make the course's chat checkpoints, one stage after another, and time each stage.

    python scripts/train_chat.py --base data/checkpoints/shakespeare-bpe

runs, in this order (each is also a command of its own):

    python scripts/make_dialogues.py --check          # the dialogue set is up to date
    python -m course_lib.chat sft --base BASE --out data/checkpoints/chat-sft
    python -m course_lib.rlhf ppo --sft data/checkpoints/chat-sft --out data/checkpoints/chat-ppo --save-rm runs/chat-rm --seed 1
    python scripts/train_chat.py --correctness-dpo --out-dir data/checkpoints   # chat-dpo (see below)
    python scripts/train_chat.py --sum-drill --out-dir data/checkpoints         # chat-dpo's last stage
    python -m course_lib.rlhf eval --sft data/checkpoints/chat-sft --models data/checkpoints/chat-ppo data/checkpoints/chat-dpo
    python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm      # only with --hack

The reward model is kept in runs/chat-rm (git-ignored) for the reward-hacking stage.

chat-dpo (since issue 15) is DPO on correctness pairs (`make_dialogues.correctness_pairs`: a
right answer against a wrong or flawed one, weighted toward sums, who-wrote answers that do not
restate the title, plus 30% of the committed pairs): `--correctness-dpo` runs only that stage,
150 steps x 8 pairs, lr 3e-4, beta 0.1, sft_weight 1, from chat-sft (the reference too).
Then `--sum-drill` (since 2026-12-02) fine-tunes that model on `make_dialogues.sum_drill_dialogues`
(every training sum with its right answer, plus clean answers to the other tasks): supervised, not
feedback, and said so wherever chat-dpo's accuracy is shown: 750 steps x 32 conversations, lr 5e-4
(10 warmup steps, then cosine decay to 5e-5).
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


def make_dialogues():
    """scripts/make_dialogues.py as a module (the pairs and drills are made there), with the
    checkout's course_lib importable."""
    import importlib.util

    sys.path.insert(0, str(REPO))
    spec = importlib.util.spec_from_file_location("make_dialogues", REPO / "scripts" / "make_dialogues.py")
    md = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(md)
    return md


CORRECTNESS_DPO = {"steps": 150, "batch_size": 8, "lr": 3e-4, "beta": 0.1, "sft_weight": 1.0}


def correctness_dpo(sft: str, out: str) -> float:
    """chat-dpo's recipe: DPO from the SFT model on `make_dialogues.correctness_pairs()`."""
    import json

    import torch

    from course_lib import rlhf
    from course_lib.checkpoint import load_checkpoint, save_checkpoint

    md = make_dialogues()
    torch.manual_seed(0)
    reference, tokenizer, _ = load_checkpoint(sft)
    policy, _, _ = load_checkpoint(sft)
    reference.float()
    policy.float()
    pairs = md.correctness_pairs()
    t0 = time.perf_counter()
    log = rlhf.dpo(policy, reference, tokenizer, pairs, progress=False, **CORRECTNESS_DPO)
    seconds = time.perf_counter() - t0
    meta = {"kind": "chat-dpo", "sft": sft, "route": "correctness pairs (issue 15)",
            "pairs": {"n": len(pairs), "made_by": "scripts/make_dialogues.py correctness_pairs()"},
            "dpo": CORRECTNESS_DPO, "dpo_seconds": round(seconds, 1),
            "log": [{k: round(v, 4) if isinstance(v, float) else v for k, v in e.items()} for e in log[:: 15]],
            "command": f"python scripts/train_chat.py --correctness-dpo --sft {sft} --out-dir {Path(out).parent}"}
    save_checkpoint(out, policy.cpu(), tokenizer, meta=meta, dtype=torch.float16)
    print(json.dumps({k: v for k, v in meta.items() if k != "log"}, indent=2))
    return seconds


SUM_DRILL = {"steps": 750, "batch_size": 32, "lr": 5e-4, "min_lr": 5e-5, "warmup_steps": 10, "n_other": 1400}


def sum_drill(init: str, out: str) -> float:
    """chat-dpo's last stage: supervised fine-tuning on `make_dialogues.sum_drill_dialogues()`."""
    import json

    import torch

    from course_lib.checkpoint import load_checkpoint, save_checkpoint
    from course_lib.sft import sft

    md = make_dialogues()
    torch.manual_seed(0)
    model, tokenizer, meta = load_checkpoint(init)
    model.float()
    dialogues = md.sum_drill_dialogues(SUM_DRILL["n_other"])
    c = SUM_DRILL
    t0 = time.perf_counter()
    sft(model, tokenizer, dialogues, steps=c["steps"], batch_size=c["batch_size"], lr=c["lr"], min_lr=c["min_lr"],
        warmup_steps=c["warmup_steps"], seed=0, progress=False)
    seconds = time.perf_counter() - t0
    meta = dict(meta)
    meta["sum_drill"] = {**SUM_DRILL, "dialogues": len(dialogues), "seconds": round(seconds, 1),
                         "made_by": "scripts/make_dialogues.py sum_drill_dialogues()",
                         "command": f"python scripts/train_chat.py --sum-drill --init {init} --out-dir {Path(out).parent}"}
    if "evaluation" in meta:  # measured on the model before the drill
        meta["evaluation_before_drill"] = meta.pop("evaluation")
    save_checkpoint(out, model.cpu(), tokenizer, meta=meta, dtype=torch.float16)
    print(json.dumps(meta["sum_drill"], indent=2))
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="data/checkpoints/shakespeare-bpe")
    parser.add_argument("--out-dir", default="data/checkpoints")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-sft", action="store_true", help="reuse the existing chat-sft checkpoint")
    parser.add_argument("--hack", action="store_true", help="also run the reward-hacking demonstration")
    parser.add_argument("--correctness-dpo", action="store_true", help="only make chat-dpo (correctness pairs)")
    parser.add_argument("--sft", help="the SFT model for --correctness-dpo (default OUT_DIR/chat-sft)")
    parser.add_argument("--sum-drill", action="store_true", help="only run chat-dpo's last stage, the sum drill")
    parser.add_argument("--init", help="the model --sum-drill starts from (default OUT_DIR/chat-dpo)")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    sft, ppo, dpo = str(out / "chat-sft"), str(out / "chat-ppo"), str(out / "chat-dpo")
    if args.correctness_dpo:
        print(f"correctness DPO: {correctness_dpo(args.sft or sft, dpo):.0f} s")
        return 0
    if args.sum_drill:
        print(f"sum drill: {sum_drill(args.init or dpo, dpo):.0f} s")
        return 0
    dev = ["--device", args.device]
    times = {}
    times["dialogues check"] = run(["scripts/make_dialogues.py", "--check"])
    if not args.skip_sft:
        times["sft"] = run(["-m", "course_lib.chat", "sft", "--base", args.base, "--out", sft] + dev)
    rm = "runs/chat-rm"
    times["reward model + ppo + eval"] = run(["-m", "course_lib.rlhf", "ppo", "--sft", sft, "--out", ppo,
                                              "--save-rm", rm, "--seed", "1"] + dev)
    times["dpo (correctness pairs)"] = run(["scripts/train_chat.py", "--correctness-dpo", "--sft", sft,
                                            "--out-dir", str(out)])
    times["sum drill"] = run(["scripts/train_chat.py", "--sum-drill", "--out-dir", str(out)])
    times["final eval"] = run(["-m", "course_lib.rlhf", "eval", "--sft", sft, "--models", ppo, dpo] + dev)
    if args.hack:
        times["reward hacking"] = run(["-m", "course_lib.rlhf", "hack", "--sft", sft, "--rm", rm] + dev)
    print("\nwall time per stage (s): " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
