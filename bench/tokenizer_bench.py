"""Benchmark the BPE tokenizer on the full Shakespeare corpus (pure Python, CPU).

Times training the 2,048-token vocabulary (5 special tokens included) and encoding /
decoding the whole corpus, checks that training stays under 60 seconds and that the
result equals the committed data/tokenizer_bpe.json.

    python bench/tokenizer_bench.py                  # print the figures
    python bench/tokenizer_bench.py --write-results  # also record them in bench/RESULTS.md
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

from course_lib import paths  # noqa: E402
from course_lib.data import CORPUS_SHA256, load_corpus  # noqa: E402
from course_lib.tokenizer import BPETokenizer, load_tokenizer  # noqa: E402

TRAIN_LIMIT_S = 60.0
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
COMMAND = "python bench/tokenizer_bench.py --write-results"


def machine() -> str:
    try:
        import torch
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except Exception:  # pragma: no cover
        gpu = "no GPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return (f"{cores} CPU cores ({platform.machine()}), {gpu}, Python {platform.python_version()}, "
            f"{platform.system()}{load}")


def run(vocab_size: int) -> dict:
    text = load_corpus()
    r = {"machine": machine()}
    t0 = time.perf_counter()
    tok = BPETokenizer.train(text, vocab_size)
    train_s = time.perf_counter() - t0

    fresh = BPETokenizer(list(tok.merges), pattern=tok.pattern, special_tokens=tok.special_tokens)
    t0 = time.perf_counter()
    ids = fresh.encode(text)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fresh.encode(text)
    encode_warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    back = fresh.decode(ids)
    decode_s = time.perf_counter() - t0
    if back != text:
        raise SystemExit("decode(encode(corpus)) != corpus")

    committed = paths.REPO_DIR / "data" / "tokenizer_bpe.json"
    same = committed.exists() and load_tokenizer(committed).fingerprint() == tok.fingerprint()
    return {
        **r, "characters": len(text), "bytes": len(text.encode("utf-8")), "vocab_size": tok.vocab_size,
        "train_s": train_s, "encode_s": encode_s, "encode_warm_s": encode_warm_s, "decode_s": decode_s,
        "tokens": len(ids), "chars_per_token": len(text) / len(ids),
        "bytes_per_token": len(text.encode("utf-8")) / len(ids), "matches_committed": same,
    }


def report(r: dict) -> str:
    return "\n".join([
        "## Tokenizer",
        "",
        f"Byte-level BPE (`course_lib.tokenizer.BPETokenizer`, pure Python) on the full corpus "
        f"({r['characters']:,} characters, 37 plays, SHA-256 `{CORPUS_SHA256[:16]}...`).",
        "",
        f"- Machine: {r['machine']}",
        f"- Command: `{COMMAND}`",
        f"- Date: {datetime.date.today().isoformat()}",
        "- The machine is shared: other jobs may run at the same time (see the load average);",
        "  on a quiet machine the times are about half.",
        "",
        "| what | figure |",
        "|---|---|",
        f"| train, vocab {r['vocab_size']:,} (5 special tokens included) | {r['train_s']:.1f} s (limit {TRAIN_LIMIT_S:.0f} s) |",
        f"| encode the corpus, empty chunk cache | {r['encode_s']:.1f} s |",
        f"| encode the corpus again, warm chunk cache | {r['encode_warm_s']:.1f} s |",
        f"| decode the corpus | {r['decode_s']:.1f} s |",
        f"| tokens in the corpus | {r['tokens']:,} |",
        f"| compression | {r['chars_per_token']:.2f} characters per token |",
        f"| trained tokenizer equals data/tokenizer_bpe.json | {'yes' if r['matches_committed'] else 'NO'} |",
        "",
    ])


def write_results(section: str) -> None:
    """Put the section into RESULTS.md, replacing an earlier "## Tokenizer" section."""
    from results import write_section

    write_section("Tokenizer", section)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--write-results", action="store_true", help=f"record the figures in {RESULTS.name}")
    args = parser.parse_args(argv)
    r = run(args.vocab_size)
    section = report(r)
    print(section)
    if args.write_results:
        write_results(section)
        print(f"Wrote the section to {RESULTS}")
    if r["train_s"] > TRAIN_LIMIT_S:
        print(f"FAIL: training took {r['train_s']:.1f} s, over the {TRAIN_LIMIT_S:.0f} s limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
