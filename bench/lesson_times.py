"""How long each lesson takes to run top to bottom in a fresh kernel, as a learner runs it.

Each notebook under notebooks/ is executed with nbclient in a new Python kernel, in the
notebooks/ folder, with the exercises filled by their reference solutions
(COURSE_FILL_SOLUTIONS=1, so every cell after an exercise runs as it does for a learner who
solved it). Twice by default: as a learner runs it, and with COURSE_FAST=1 (what CI runs).
The wall time covers kernel start to the last cell. Limits (issues "Lessons ..."): under 3
minutes each as a learner runs it, under 1 minute fast.

    python bench/lesson_times.py                         # every lesson, both modes
    python bench/lesson_times.py --modes fast 05 07      # some lessons, one mode
    python bench/lesson_times.py --write-results         # also record them in bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
FAST_LIMIT_S = 60
FULL_LIMIT_S = {}  # every lesson, the chat and RLHF ones included, has 3 minutes
FULL_LIMIT_DEFAULT_S = 180


def full_limit(name: str) -> int:
    return FULL_LIMIT_S.get(name[:2], FULL_LIMIT_DEFAULT_S)


def run_notebook(path: Path, fast: bool, timeout_s: int = 900) -> dict:
    """Execute one notebook in a fresh kernel; returns seconds, cells and errors."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in ("COURSE_FAST", "COURSE_FILL_SOLUTIONS")}
    os.environ["COURSE_FILL_SOLUTIONS"] = "1"
    if fast:
        os.environ["COURSE_FAST"] = "1"
    else:
        os.environ.pop("COURSE_FAST", None)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    error = ""
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        error = str(e).strip().splitlines()[-1][:200]
    finally:
        seconds = time.perf_counter() - t0
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    cells = sum(c.cell_type == "code" for c in nb.cells)
    return {"seconds": round(seconds, 1), "cells": cells, "error": error}


def report(rows: list, modes: list, load: float) -> str:
    import torch

    header = "| lesson | " + " | ".join(f"{m} run" for m in modes) + " |"
    lines = [
        "## Lesson run times",
        "",
        "Each lesson executed top to bottom in a fresh kernel by nbclient (kernel start included), "
        "exercises filled with their reference solutions. \"learner\" is the lesson as a learner runs "
        f"it (limit {FULL_LIMIT_DEFAULT_S // 60} minutes); \"fast\" sets "
        f"COURSE_FAST=1 as CI does (limit {FAST_LIMIT_S} s).",
        "",
        f"- Machine: {os.cpu_count()} CPU cores ({platform.machine()}), no GPU, torch {torch.__version__}, "
        f"Python {platform.python_version()}, load average {load:.1f} at the start",
        "- Command: `python bench/lesson_times.py --write-results`",
        f"- Date: {datetime.date.today().isoformat()}",
        "",
        header,
        "|---|" + "---|" * len(modes),
    ]
    for name, results in rows:
        cells = []
        for m in modes:
            r = results[m]
            limit = FAST_LIMIT_S if m == "fast" else full_limit(name)
            verdict = "ERROR: " + r["error"] if r["error"] else ("ok" if r["seconds"] <= limit else f"OVER {limit} s")
            cells.append(f"{r['seconds']:.0f} s ({verdict})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for m in modes:
        total = sum(results[m]["seconds"] for _, results in rows)
        lines.append(f"\nAll lessons, {m} run: {total / 60:.1f} minutes.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or notebook names (default: all)")
    parser.add_argument("--modes", nargs="+", choices=("learner", "fast"), default=["learner", "fast"])
    parser.add_argument("--write-results", action="store_true", help="record the table in bench/RESULTS.md")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.lessons:
        paths = [p for p in paths if any(p.name.startswith(x) for x in args.lessons)]
    if not paths:
        raise SystemExit(f"no notebook in {NOTEBOOKS} matches {args.lessons}")
    load = os.getloadavg()[0]
    rows, failed = [], False
    for path in paths:
        results = {}
        for mode in args.modes:
            r = run_notebook(path, fast=mode == "fast")
            results[mode] = r
            limit = FAST_LIMIT_S if mode == "fast" else full_limit(path.name)
            failed |= bool(r["error"]) or r["seconds"] > limit
            print(f"{path.name:42s} {mode:8s} {r['seconds']:7.1f} s  {r['cells']:3d} code cells"
                  + (f"  ERROR {r['error']}" if r["error"] else ""), flush=True)
        rows.append((path.stem, results))
    section = report(rows, args.modes, load)
    print()
    print(section)
    if args.write_results:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results import write_section

        write_section("Lesson run times", section)
        print("Wrote the section to bench/RESULTS.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
