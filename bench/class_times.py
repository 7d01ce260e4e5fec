"""How long each lesson takes in class: a computed estimate, with its assumptions stated.

Nobody timed real learners. What is measured is the computer's part: each lesson's run time as a
learner runs it (the "learner run" column of bench/RESULTS.md, "Lesson run times", from
bench/lesson_times.py). Everything else is counted in the notebook itself and turned into minutes
at stated rates, so the figures in docs/teaching.md can be recomputed after any lesson changes:

- prose: every word of the markdown cells, read carefully at READ_WPM words a minute;
- code: every non-blank line of the code cells, read (not studied) at CODE_S_PER_LINE seconds;
- running: CELL_S seconds per code cell to run it and look at what it printed or drew, plus the
  measured run time of the whole lesson (the learner waits for its training cells);
- play: PLAY_MIN minutes at each explorer a section asks the learner to play with (a code cell
  that builds one and ends with it, so it is shown; the live training charts are watched during
  the run time instead), more for the labelling widgets (LABEL_MIN);
- predict-before-you-run questions (`quiz.predict(...)` cells): PREDICT_MIN each;
- exercises: the minutes an exercise heading states ("about 10 minutes"), else EXERCISE_MIN per
  checker call under it; an exercise with no heading of its own (a checker elsewhere) counts as
  optional, EXERCISE_MIN.

- exit quiz (the "Exit quiz" section, where a lesson has one): its cells as above plus QUIZ_MIN
  per question of its `quiz.check(...)`, reported apart and left out of the notebook minutes:
  the class plan gives the quiz its own slot.

Sections (`## N. Title`, with their `###` parts) get the same counts, without the run time, so a
teacher can see where to cut a lesson in two. Discussion and the class-mode demo are slots of the
class plan, not part of these figures.

    python bench/class_times.py             # the table, in markdown
    python bench/class_times.py --json      # the same figures for a script
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
RESULTS = REPO / "bench" / "RESULTS.md"

READ_WPM = 150  # a learner reading technical prose carefully
CODE_S_PER_LINE = 4  # reading a line of code once, as the prose points to it
CELL_S = 30  # running a cell and looking at its output
PLAY_MIN = 3  # trying the things a "Play" section lists
LABEL_MIN = {"TasteWidget": 5, "PreferenceWidget": 3}  # 20 pairs at 15 s; a few pairs
PREDICT_MIN = 1  # writing down a guess before running the cell
EXERCISE_MIN = 10  # one small function, with the checker's hints
QUIZ_MIN = 1.5  # one exit-quiz question: read, answer, check

PLAY = re.compile(r"\b([A-Z]\w*(?:Explorer|Viewer|Widget|Calculator|Browser)|VBox)\(")
CHECKER = re.compile(r"\blesson\d\d\.check_\w+\(")
MINUTES = re.compile(r"about\s+(\d+)\s*min", re.IGNORECASE)
PREDICT = re.compile(r"\bquiz\.predict\(")
QUIZ_CHECK = re.compile(r"\bquiz\.check\(")
QUIZ_SECTION = re.compile(r"\bexit quiz\b", re.IGNORECASE)
QUIZ_ID = re.compile(r"[\"']q\d+[\"']\s*:")


def lesson_names() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def measured_run_seconds(results: Path = RESULTS) -> dict[str, float]:
    """The 'learner run' column of RESULTS.md's lesson table: {notebook name: seconds}."""
    seconds, in_table = {}, False
    for line in results.read_text(encoding="utf-8").splitlines():
        if re.match(r"\|\s*lesson\s*\|\s*learner run\s*\|", line):
            in_table = True
            continue
        if in_table:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not line.startswith("|"):
                break
            found = re.match(r"([\d.]+)\s*s\b", cells[1]) if len(cells) > 1 else None
            if found:
                seconds[cells[0]] = float(found.group(1))
    if not seconds:
        raise ValueError(f"no '| lesson | learner run |' table found in {results}")
    return seconds


def explorer_shown(source: str) -> str:
    """The explorer a code cell builds and shows for the learner to play with, or ''.

    Shown means: the cell ends with the explorer (a bare name, or the constructor call itself)."""
    built = PLAY.findall(source)
    if not built:
        return ""
    try:
        last = ast.parse(source).body[-1]
    except (SyntaxError, IndexError):  # a cell with shell lines (!torchrun ...) shows no explorer
        return ""
    if not isinstance(last, ast.Expr):
        return ""
    value = last.value
    if isinstance(value, ast.Call):
        name = getattr(value.func, "attr", getattr(value.func, "id", ""))
        if not PLAY.match(name + "("):
            return ""
    elif not isinstance(value, ast.Name):
        return ""
    return max(built, key=lambda w: LABEL_MIN.get(w, PLAY_MIN))


def lesson_title(cells: list[dict], name: str) -> str:
    """'00 The prediction machine' from the notebook's '# 00 · The prediction machine'."""
    for cell in cells:
        if cell["cell_type"] == "markdown":
            found = re.match(r"#\s+(.*)", "".join(cell["source"]).lstrip())
            if found:
                return found.group(1).replace(" · ", " ").strip()
    return name


def _counts(cells: list[dict]) -> dict:
    """Words, code lines, cells, explorers, predictions, quiz questions of some cells, and minutes."""
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    widgets = [w for w in map(explorer_shown, code) if w]
    quiz = sum(len(set(QUIZ_ID.findall(c))) for c in code if QUIZ_CHECK.search(c))
    counts = {
        "words": sum(len(m.split()) for m in markdown),
        "code_cells": len(code),
        "code_lines": sum(1 for c in code for line in c.splitlines() if line.strip()),
        "widgets": widgets,
        "predict_questions": sum(len(PREDICT.findall(c)) for c in code),
        "quiz_questions": quiz,
    }
    counts["read_min"] = counts["words"] / READ_WPM
    counts["code_min"] = counts["code_lines"] * CODE_S_PER_LINE / 60
    counts["cells_min"] = counts["code_cells"] * CELL_S / 60
    counts["play_min"] = sum(LABEL_MIN.get(w, PLAY_MIN) for w in widgets)
    counts["predict_min"] = counts["predict_questions"] * PREDICT_MIN
    counts["quiz_min"] = quiz * QUIZ_MIN
    return counts


def split_sections(cells: list[dict]) -> list[tuple[str, list[dict]]]:
    """The notebook cut at its `## ` headings: [(title, cells)], the cells before the first under ''.

    A markdown cell that holds a `## ` heading after some text is cut there, so the text before
    the heading stays with the section it ends."""
    sections = [("", [])]
    for cell in cells:
        if cell["cell_type"] != "markdown":
            sections[-1][1].append(cell)
            continue
        part = []
        for line in "".join(cell["source"]).splitlines(keepends=True):
            heading = re.match(r"##\s+(?!#)(.*)", line)
            if heading:
                if part:
                    sections[-1][1].append({"cell_type": "markdown", "source": part})
                sections.append((heading.group(1).strip(), []))
                part = []
            part.append(line)
        if part:
            sections[-1][1].append({"cell_type": "markdown", "source": part})
    return sections


def exercises(cells: list[dict]) -> list[dict]:
    """The exercises of a notebook: heading title, minutes, and how those minutes were found."""
    found, current = [], None
    for cell in cells:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for line in src.splitlines():
                heading = re.match(r"(#{2,4})\s+(.*)", line)
                if heading:
                    title = heading.group(2).strip()
                    current = None
                    if re.search(r"\bExercises?\b", title):
                        stated = MINUTES.search(title)
                        current = {"title": title, "checkers": 0,
                                   "stated": int(stated.group(1)) if stated else None}
                        found.append(current)
        else:
            n = len(CHECKER.findall(src))
            if n and current is not None:
                current["checkers"] += n
            elif n:
                found.append({"title": "(optional, no heading of its own)", "checkers": n, "stated": None})
    for ex in found:
        ex["minutes"] = ex["stated"] if ex["stated"] is not None else EXERCISE_MIN * max(1, ex["checkers"])
    return found


NOTEBOOK_PARTS = ("read_min", "code_min", "cells_min", "play_min", "predict_min")


def lesson_figures(name: str, run_s: dict[str, float]) -> dict:
    """Counted and computed minutes for one notebook under notebooks/, with its sections."""
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; lessons: {', '.join(lesson_names())}")
    if name not in run_s:
        raise ValueError(f"{name} has no learner-run time in {RESULTS}; run: python bench/lesson_times.py {name[:2]}")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sections = split_sections(cells)
    lesson_cells = [c for t, part in sections if not QUIZ_SECTION.search(t) for c in part]
    quiz_cells = [c for t, part in sections if QUIZ_SECTION.search(t) for c in part]
    figures = {"lesson": name, "title": lesson_title(cells, name), "run_s": run_s[name], **_counts(lesson_cells)}
    quiz = _counts(quiz_cells)
    figures["quiz_questions"] += quiz["quiz_questions"]
    figures["quiz_min"] = figures["quiz_questions"] * QUIZ_MIN + sum(quiz[k] for k in NOTEBOOK_PARTS)
    figures["run_min"] = figures["cells_min"] + run_s[name] / 60
    figures["exercises"] = exercises(cells)
    figures["exercise_min"] = sum(e["minutes"] for e in figures["exercises"])
    figures["notebook_min"] = sum(figures[k] for k in NOTEBOOK_PARTS) + run_s[name] / 60
    figures["total_min"] = figures["notebook_min"] + figures["exercise_min"]
    figures["sections"] = []
    for title, part in sections:
        counts = _counts(part)
        ex = sum(e["minutes"] for e in exercises(part))
        notebook = sum(counts[k] for k in NOTEBOOK_PARTS)
        if QUIZ_SECTION.search(title):
            notebook, quiz_min = 0.0, notebook + counts["quiz_min"]
        else:
            quiz_min = counts["quiz_min"]
        figures["sections"].append({"title": title or "(title and setup)", "notebook_min": notebook,
                                    "exercise_min": ex, "quiz_min": quiz_min})
    return figures


def table(rows: list[dict]) -> str:
    """The figures as the markdown table of docs/teaching.md (minutes, rounded)."""
    out = ["| lesson | prose words | code lines / cells | run time (measured) | reading | code | running | play | "
           "predict | notebook | exercises | total | exit quiz |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['title']} | {r['words']:,} | {r['code_lines']} / {r['code_cells']} | {r['run_s']:.0f} s | "
            f"{r['read_min']:.0f} | {r['code_min']:.0f} | {r['run_min']:.0f} | {r['play_min']:.0f} | "
            f"{r['predict_min']:.0f} | **{r['notebook_min']:.0f}** | {r['exercise_min']:.0f} ({len(r['exercises'])}) | "
            f"{r['total_min']:.0f} | {r['quiz_min']:.0f} ({r['quiz_questions']}) |")
    return "\n".join(out)


def assumptions() -> str:
    labels = ", ".join(f"{k} {v}" for k, v in LABEL_MIN.items())
    return (f"Minutes, computed by `python bench/class_times.py`: prose at {READ_WPM} words a minute, code at "
            f"{CODE_S_PER_LINE} s a line, {CELL_S} s to run each cell and look at its output plus the lesson's "
            f"measured run time (bench/RESULTS.md, learner run), {PLAY_MIN} min per explorer to play with "
            f"({labels}), {PREDICT_MIN} min per prediction, exercises as their headings state or "
            f"{EXERCISE_MIN} min per checker, {QUIZ_MIN} min per exit-quiz question.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="two-digit lesson numbers (default: every notebook)")
    parser.add_argument("--sections", action="store_true", help="also print each section's minutes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    names = lesson_names()
    if args.lessons:
        wanted = [n for n in names if n[:2] in args.lessons or n in args.lessons]
        unknown = sorted(set(args.lessons) - {n[:2] for n in wanted} - set(wanted))
        if unknown:
            parser.error(f"no lesson {', '.join(unknown)}; lessons: "
                         f"{', '.join(n[:2] if n[:2].isdigit() else n for n in names)}")
        names = wanted
    run_s = measured_run_seconds()
    rows = [lesson_figures(name, run_s) for name in names]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(assumptions() + "\n")
    print(table(rows))
    print("\nExercises (minutes):")
    for r in rows:
        print(f"- {r['lesson']}: " + ("; ".join(f"{e['title']} = {e['minutes']}" for e in r["exercises"]) or "none"))
    if args.sections:
        for r in rows:
            print(f"\n{r['lesson']} by section (notebook minutes without the run time of {r['run_s']:.0f} s; "
                  "exercise minutes apart):")
            for sec in r["sections"]:
                extra = f" + exercises {sec['exercise_min']}" if sec["exercise_min"] else ""
                extra += f" + quiz {sec['quiz_min']:.0f}" if sec["quiz_min"] else ""
                print(f"  {sec['notebook_min']:5.1f}{extra}  {sec['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
