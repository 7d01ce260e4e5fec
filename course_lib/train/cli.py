"""Command line: `python -m course_lib.train --preset NAME --out FOLDER [flags]`.

One JSON line per evaluation on stdout, then a JSON summary; messages go to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys

from ..data import encode_text, load_corpus, load_text, split
from ..device import setup_distributed, teardown_distributed
from ..settings import add_flags
from ..tokenizer import make_tokenizer
from .config import COMPILE_MODES, DTYPES, PRESETS, TOKENIZERS, TrainConfig, field_names
from .trainer import Trainer, TrainingDiverged


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.train",
        description="Train the course's GPT. Prints one JSON line per evaluation and a JSON summary.",
        epilog=f"Presets: {', '.join(PRESETS)}. Flags override the preset's settings.",
    )
    parser.add_argument("--data", help="a UTF-8 text file (default: the Shakespeare corpus)")
    parser.add_argument("--tokenizer-file", help="a saved tokenizer JSON to use instead (for bpe: default "
                        "data/tokenizer_bpe.json)")
    parser.add_argument("--preset", help=f"named settings: {', '.join(PRESETS)}")
    parser.add_argument("--out", required=True, help="folder for checkpoints and train_state.pt")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out exactly")
    parser.add_argument("--overwrite", action="store_true", help="replace what --out holds (a finished run, other "
                        "files) instead of refusing")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="the last part of the text that validates")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    # One flag per TrainConfig setting, default None: only the flags given override the preset.
    add_flags(parser, TrainConfig, skip=("out_dir",), use_defaults=False,
              choices={"tokenizer": TOKENIZERS, "dtype": DTYPES, "compile_mode": COMPILE_MODES})
    return parser


def config_from_args(args) -> TrainConfig:
    overrides = {name: getattr(args, name) for name in field_names()
                 if name != "out_dir" and getattr(args, name, None) is not None}
    return TrainConfig.from_preset(args.preset, out_dir=args.out, **overrides)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    rank = 0
    try:
        config = config_from_args(args)
        rank, world, device = setup_distributed(config.device)
        if world > 1 and device.type == "cpu" and config.num_threads is None:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
            config = dataclasses.replace(config, num_threads=max(1, (os.cpu_count() or 1) // local))
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON lines
            text = load_text(args.data) if args.data else load_corpus()
        tokenizer = make_tokenizer(config.tokenizer, text, args.tokenizer_file)
        train_ids, val_ids = split(encode_text(tokenizer, text), args.val_fraction)

        def print_evals(ev):
            if ev["kind"] == "eval":
                keys = ("step", "tokens", "elapsed", "train_loss", "val_loss", "tokens_per_s", "lr", "mfu")
                print(json.dumps({"kind": "eval", **{k: ev[k] for k in keys}}), flush=True)

        trainer = Trainer(config, train_ids, val_ids, tokenizer=tokenizer, callbacks=[print_evals],
                          progress=not args.no_progress, resume=args.resume, overwrite=args.overwrite,
                          out_flag="--out")
        summary = trainer.fit()
        if rank == 0:
            print(json.dumps({"kind": "summary", **summary}), flush=True)
        return 130 if summary["status"] == "interrupted" else 0
    except TrainingDiverged as err:
        if rank == 0:
            print(f"error: {err}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, ConnectionError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        teardown_distributed()


