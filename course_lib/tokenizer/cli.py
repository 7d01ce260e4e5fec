"""Command line: `python -m course_lib.tokenizer train|encode ...`."""
from __future__ import annotations

import argparse
import sys
import time





def main(argv=None) -> int:
    from . import KINDS, BPETokenizer, CharTokenizer, load_tokenizer

    parser = argparse.ArgumentParser(prog="python -m course_lib.tokenizer",
                                     description="Train or try out a tokenizer.")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a tokenizer and save it as JSON")
    tr.add_argument("--kind", choices=sorted(KINDS), default="bpe")
    tr.add_argument("--vocab-size", type=int, default=2048,
                    help="BPE only: total vocabulary size, special tokens included (default 2048)")
    tr.add_argument("--data", help="UTF-8 text file to train on (default: the Shakespeare corpus)")
    tr.add_argument("--out", required=True, help="where to write the JSON file")
    tr.add_argument("--verbose", action="store_true", help="print merges while training")
    sh = sub.add_parser("show", help="show how a text splits into tokens")
    sh.add_argument("--tokenizer", required=True, help="a tokenizer JSON file")
    sh.add_argument("text")
    args = parser.parse_args(argv)

    try:
        if args.command == "show":
            tok = load_tokenizer(args.tokenizer)
            for i, piece in tok.pieces(args.text):
                print(f"{i:>6}  {piece!r}")
            return 0
        from course_lib import data  # imported here: `show` needs no torch
        text = data.load_text(args.data) if args.data else data.load_corpus()
        source = args.data or "the Shakespeare corpus"
        print(f"Training a {args.kind} tokenizer on {source} ({len(text):,} characters)...")
        t0 = time.perf_counter()
        if args.kind == "bpe":
            tok = BPETokenizer.train(text, args.vocab_size, verbose=args.verbose)
        else:
            tok = CharTokenizer.train(text)
        seconds = time.perf_counter() - t0
        tok.save(args.out)
        print(f"Trained in {seconds:.1f} s: vocab_size {tok.vocab_size} "
              f"({len(tok.special_tokens)} special tokens). Saved {args.out}")
    except (FileNotFoundError, ValueError, ConnectionError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
