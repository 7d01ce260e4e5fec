"""The command line: the shipped reward model, PPO and DPO checkpoints, and their evaluation.

    python -m course_lib.rlhf ppo  --sft data/checkpoints/chat-sft --out runs/my-ppo --save-rm runs/chat-rm
    python -m course_lib.rlhf dpo  --sft data/checkpoints/chat-sft --out runs/my-dpo
    python -m course_lib.rlhf eval --sft data/checkpoints/chat-sft --models data/checkpoints/chat-ppo data/checkpoints/chat-dpo
    python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm

The flags of each method's settings come from its dataclass (PPOConfig, DPOConfig,
RewardModelConfig), so their defaults are the shipped models' recipes; data/README.md has
the exact commands, seeds included, that made each committed file.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch

from ..fileio import atomic_write_text
from ..settings import add_flags, from_flags, run_command
from .dpo_training import DPOConfig, dpo
from .evaluation import compare_models, heldout_prompts, kl_to_reference, summarise
from .ppo_training import PPOConfig, ppo, reward_hacking_demo, training_prompts
from .preferences import simulated_preferences
from .reward_model import RewardModelConfig, build_reward_model, load_reward_model, save_reward_model

PPO_FLAGS = tuple(f.name for f in dataclasses.fields(PPOConfig) if f.name != "seed")  # --seed is common
RM_FLAGS = ("steps", "batch_size", "lr", "train_blocks")  # --rm-steps, ...: the reward model's settings
DPO_FLAGS = ("steps", "batch_size", "lr", "beta", "sft_weight", "train_blocks")
HACK_FLAGS = ("steps", "lr", "prompts_per_step")
HACK_DEFAULTS = {"steps": 60, "prompts_per_step": 16}  # the committed reward-hacking run's recipe


def _log_summary(log: list, keys: tuple) -> list:
    """Every tenth log entry (and the last), the given keys only, rounded."""
    picked = log[:: max(1, len(log) // 10)] + ([log[-1]] if log else [])
    return [{k: (round(e[k], 4) if isinstance(e[k], float) else e[k]) for k in keys if k in e} for e in picked]



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_lib.rlhf",
                                     description="Reward model, PPO, DPO and their evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, out=True):
        p.add_argument("--sft", required=True, help="checkpoint folder of the SFT model")
        if out:
            p.add_argument("--out", required=True, help="where to write the tuned checkpoint")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default="auto")
        p.add_argument("--eval-samples", type=int, default=10, help="answers per held-out prompt in the evaluation")

    def rm_args(p):
        p.add_argument("--rm", help="a saved reward model folder (default: train one now)")
        add_flags(p, RewardModelConfig, only=RM_FLAGS, prefix="rm-")
        p.add_argument("--save-rm", help="also save the reward model in this folder")

    p = sub.add_parser("ppo", help="train a reward model, then PPO from the SFT model")
    common(p)
    rm_args(p)
    add_flags(p, PPOConfig, only=PPO_FLAGS)
    d = sub.add_parser("dpo", help="DPO from the SFT model on the simulated preference pairs")
    common(d)
    add_flags(d, DPOConfig, only=DPO_FLAGS)
    e = sub.add_parser("eval", help="win rate against the SFT model and accuracy, by the simulated rater")
    common(e, out=False)
    e.add_argument("--models", nargs="+", required=True, help="checkpoint folders to compare with the SFT model")
    h = sub.add_parser("hack", help="the reward-hacking demonstration: PPO with and without the KL leash")
    common(h, out=False)
    rm_args(h)
    add_flags(h, PPOConfig, only=HACK_FLAGS, defaults=HACK_DEFAULTS)
    h.add_argument("--kl-coefs", type=float, nargs="+", default=[0.0, PPOConfig.kl_coef],
                   help="the KL coefficients to compare")
    add_flags(h, PPOConfig, only=("train_blocks",))
    h.add_argument("--json", help="also write the results, with every step's log, to this JSON file")
    return parser


def _run(args, argv) -> int:
    """One command of the parsed command line, in bf16 on a GPU; returns the exit status."""
    from ..device import autocast, pick_device

    with autocast(pick_device(args.device) if hasattr(args, "device") else "cpu"):
        return _run_command(args, argv)


def _run_command(args, argv) -> int:
    from ..checkpoint import check_output_file, check_output_folder, load_checkpoint, save_checkpoint
    from ..device import pick_device

    def dump(obj):
        print(json.dumps(obj, indent=2, default=str))

    # The settings first: a bad one is reported before any model is loaded.
    rm_config = (RewardModelConfig(**from_flags(args, RM_FLAGS, "rm-"), seed=args.seed)
                 if args.command in ("ppo", "hack") else None)
    config = {"ppo": lambda: PPOConfig(**from_flags(args, PPO_FLAGS), seed=args.seed),
              "dpo": lambda: DPOConfig(**from_flags(args, DPO_FLAGS), seed=args.seed),
              "hack": lambda: PPOConfig(**from_flags(args, HACK_FLAGS + ("train_blocks",)), seed=args.seed),
              "eval": lambda: None}[args.command]()
    if args.seed < 0:
        raise ValueError(f"--seed must be a whole number >= 0, not {args.seed}")
    if args.eval_samples < 1:
        raise ValueError(f"--eval-samples must be a whole number >= 1, not {args.eval_samples}")
    if args.command == "hack" and not all(math.isfinite(k) and k >= 0 for k in args.kl_coefs):
        raise ValueError(f"--kl-coefs must be numbers >= 0, not {args.kl_coefs}")
    # Where the results go, before anything trains: a finished run must not fail on saving.
    if getattr(args, "out", None) is not None:
        check_output_folder(args.out, flag="--out", replace_checkpoint=True)
    if getattr(args, "save_rm", None) is not None:
        check_output_folder(args.save_rm, flag="--save-rm", replace_checkpoint=True)
    if getattr(args, "json", None) is not None:
        check_output_file(args.json, "--json")
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    sft, tokenizer, sft_meta = load_checkpoint(args.sft, device=device)
    if tokenizer is None:
        raise ValueError(f"{args.sft} has no tokenizer.json")
    command = "python -m course_lib.rlhf " + " ".join(sys.argv[1:] if argv is None else argv)
    heldout = heldout_prompts()

    def get_rm():
        if args.rm:
            rm, _, meta = load_reward_model(args.rm, device=device)
            return rm, {"loaded_from": args.rm, **meta.get("report", {})}
        rm, report = build_reward_model(sft, tokenizer, rm_config)
        if args.save_rm:
            save_reward_model(args.save_rm, rm, tokenizer, meta={"sft": args.sft, "report": report})
        print(f"reward model: held-out accuracy {report['heldout_accuracy']:.3f} ({report['seconds']} s)")
        return rm, report

    if args.command == "eval":
        models = {Path(m).name: load_checkpoint(m, device=device)[0] for m in args.models}
        t0 = time.perf_counter()
        results = compare_models(models, sft, tokenizer, heldout, samples=args.eval_samples, seed=args.seed)
        summary = summarise(results)
        for name, model in models.items():
            summary[name]["kl"] = round(kl_to_reference(model, sft, tokenizer, [r["prompt"] for r in heldout],
                                                        seed=args.seed), 3)
        dump({"evaluation": summary, "seconds": round(time.perf_counter() - t0, 1)})
        return 0

    if args.command == "hack":
        rm, rm_report = get_rm()
        t0 = time.perf_counter()
        results = reward_hacking_demo(sft, rm, tokenizer, training_prompts(), kl_coefs=tuple(args.kl_coefs),
                                      config=config)
        report = {"reward_model": rm_report,
                  "hacking": {str(k): {kk: vv for kk, vv in v.items() if kk != "log"} for k, v in results.items()},
                  "seconds": round(time.perf_counter() - t0, 1), "command": command}
        dump(report)
        if args.json:
            report["logs"] = {str(k): [{kk: vv for kk, vv in e.items() if kk != "samples"} for e in v["log"]]
                              for k, v in results.items()}
            atomic_write_text(args.json, json.dumps(report, indent=1, default=str) + "\n")
        return 0

    policy = copy.deepcopy(sft)
    t0 = time.perf_counter()
    if args.command == "ppo":
        rm, rm_report = get_rm()
        t1 = time.perf_counter()
        log = ppo(policy, sft, rm, tokenizer, training_prompts(), config)
        train_report = {"reward_model": rm_report, "ppo": config.to_dict(),
                        "ppo_seconds": round(time.perf_counter() - t1, 1),
                        "ppo_cpu_seconds": log[-1]["cpu_seconds"],
                        "log": _log_summary(log, ("step", "reward", "kl", "rater", "length", "seconds"))}
    else:
        log = dpo(policy, sft, tokenizer, simulated_preferences("train"), config)
        train_report = {"dpo": from_flags(args, DPO_FLAGS),
                        "dpo_seconds": round(time.perf_counter() - t0, 1),
                        "dpo_cpu_seconds": log[-1]["cpu_seconds"],
                        "log": _log_summary(log, ("step", "loss", "dpo_loss", "sft_loss", "accuracy",
                                                  "margin", "chosen_logp", "rejected_logp", "seconds"))}
    seconds = time.perf_counter() - t0
    # The checkpoint stores float16 weights: evaluate exactly those, so the figures
    # recorded with it are the shipped model's (a rounding changes which answers are drawn).
    with torch.no_grad():
        for p in policy.parameters():
            p.copy_(p.half().float())
    t2 = time.perf_counter()
    results = compare_models({args.command: policy}, sft, tokenizer, heldout, samples=args.eval_samples,
                             seed=args.seed)
    evaluation = summarise(results)
    evaluation[args.command]["kl"] = round(kl_to_reference(policy, sft, tokenizer, [r["prompt"] for r in heldout],
                                                           seed=args.seed), 3)
    meta = {"kind": f"chat-{args.command}", "sft": str(args.sft), "seed": args.seed, **train_report,
            "train_seconds": round(seconds, 1), "evaluation": evaluation,
            "eval_seconds": round(time.perf_counter() - t2, 1), "device": str(device), "command": command}
    save_checkpoint(args.out, policy.cpu(), tokenizer, meta=meta, dtype=torch.float16)
    dump({k: v for k, v in meta.items() if k != "log"})
    for prompt, answer in results[args.command]["examples"]:
        print(f"{prompt!r} -> {answer!r}")
    return 0


def main(argv=None) -> int:
    return run_command(build_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
