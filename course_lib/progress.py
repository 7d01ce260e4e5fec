"""A learner's progress: what the checkers saw pass, kept in a small local file.

Every exercise check, exit quiz and locked-in prediction appends one JSON line to
`DATA_DIR/progress/progress.jsonl` (the environment variable COURSE_PROGRESS_FILE names
another file):

    {"time": "2026-12-01T23:59:00+00:00", "kind": "exercise", "lesson": "01", "name": "merge", "passed": true}

Nothing is recorded in test mode (COURSE_FILL_SOLUTIONS=1), with COURSE_NO_PROGRESS=1, or
under pytest unless COURSE_PROGRESS_FILE names a file (some tests check a wrong function on
purpose; they must not land in a learner's file). A file that cannot be written only gives
one warning: a checker never fails because of its record.

    python -m course_lib.progress        # a table: per lesson, exercises passed, quiz score, predictions
"""
import datetime
import json
import os
import re
import warnings
from pathlib import Path

from . import paths
from .fileio import append_line_atomic

KINDS = ("exercise", "quiz", "prediction")
_warned = False


def progress_file() -> Path:
    """Where progress is kept (COURSE_PROGRESS_FILE, else DATA_DIR/progress/progress.jsonl)."""
    override = os.environ.get("COURSE_PROGRESS_FILE", "")
    return Path(override) if override else paths.DATA_DIR / "progress" / "progress.jsonl"


def recording() -> bool:
    """False in test mode (COURSE_FILL_SOLUTIONS=1), with COURSE_NO_PROGRESS=1, and under pytest
    unless COURSE_PROGRESS_FILE names a file (tests never touch a learner's own file)."""
    from .exercises.core import fill_solutions

    if fill_solutions() or os.environ.get("COURSE_NO_PROGRESS", "0") not in ("", "0"):
        return False
    return not ("PYTEST_CURRENT_TEST" in os.environ and not os.environ.get("COURSE_PROGRESS_FILE"))


def record(kind: str, lesson, name: str, passed=None, **details) -> bool:
    """Append one result; True if it was written. Never raises for a file problem (warns once)."""
    global _warned
    if kind not in KINDS:
        raise ValueError(f"progress kind must be one of {KINDS}, not {kind!r}")
    if not recording():
        return False
    entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "kind": kind, "lesson": None if lesson is None else str(lesson), "name": str(name)}
    if passed is not None:
        entry["passed"] = bool(passed)
    entry.update(details)
    path = progress_file()
    try:
        append_line_atomic(path, json.dumps(entry, ensure_ascii=False, allow_nan=False, default=str))
    except (OSError, ValueError) as e:
        if not _warned:
            _warned = True
            warnings.warn(f"could not save your progress to {path} ({e}); your checks still work, "
                          "they just are not remembered", RuntimeWarning, stacklevel=2)
        return False
    return True


def load(path=None) -> list:
    """Every readable entry of the progress file, oldest first ([] when there is none yet).
    Lines that are not JSON objects (a torn last line) are skipped."""
    path = Path(path) if path else progress_file()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("kind") in KINDS:
            entries.append(entry)
    return entries


def summary(entries=None) -> dict:
    """Per lesson: {"exercises": {name: passed ever}, "quiz": (best score, total) or None,
    "predictions": set of prompts guessed, "predicted_right": set of those guessed right}."""
    entries = load() if entries is None else entries
    lessons = {}
    for e in entries:
        row = lessons.setdefault(str(e.get("lesson")), {"exercises": {}, "quiz": None, "predictions": set(),
                                                        "predicted_right": set()})
        name, passed = str(e.get("name")), bool(e.get("passed"))
        if e["kind"] == "exercise":
            row["exercises"][name] = row["exercises"].get(name, False) or passed
        elif e["kind"] == "quiz":
            score, total = e.get("score", 0), e.get("total", 0)
            if row["quiz"] is None or score > row["quiz"][0]:
                row["quiz"] = (score, total)
        else:
            row["predictions"].add(name)
            if passed:
                row["predicted_right"].add(name)
    return dict(sorted(lessons.items()))


def course_lessons() -> dict:
    """{lesson: number of exercises} for every lesson with checkers (counted in the source, so
    nothing heavy is imported)."""
    folder = Path(__file__).resolve().parent / "exercises"
    found = {}
    for path in sorted(folder.glob("lesson[0-9][0-9].py")):
        found[path.stem[-2:]] = len(re.findall(r"^def check_\w+\(", path.read_text(encoding="utf-8"), re.M))
    return found


def rows(entries=None, every_lesson=True) -> list:
    """The table as rows of text: lesson, exercises passed, quiz, predictions (every lesson of
    the course, or only those with results)."""
    done_by_lesson = summary(entries)
    exercises_in = course_lessons()
    lessons = sorted(set(done_by_lesson) | (set(exercises_in) if every_lesson else set()))
    out = []
    for lesson in lessons:
        row = done_by_lesson.get(lesson, {"exercises": {}, "quiz": None, "predictions": set(),
                                          "predicted_right": set()})
        done = [n for n, ok in row["exercises"].items() if ok]
        total = max(exercises_in.get(lesson, 0), len(row["exercises"]))
        exercises = f"{len(done)} of {total}" + (f" ({', '.join(done)})" if done else "") if total else "-"
        quiz = f"{row['quiz'][0]} of {row['quiz'][1]}" + (" ✅" if row["quiz"][0] == row["quiz"][1] else "") \
            if row["quiz"] else "-"
        n = len(row["predictions"])
        predictions = f"{n} made, {len(row['predicted_right'])} right" if n else "-"
        out.append((lesson, exercises, quiz, predictions))
    return out


HEADERS = ("lesson", "exercises passed", "exit quiz (best)", "predictions")


def table(entries=None) -> str:
    """The progress table as plain text (what `python -m course_lib.progress` prints)."""
    entries = load() if entries is None else entries
    body = rows(entries)
    note = "" if entries else f"No progress saved yet (results are kept in {progress_file()}).\n\n"
    widths = [max(len(r[i]) for r in [HEADERS, *body]) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [HEADERS, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return note + "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_lib.progress",
                                     description="Show which exercises, quizzes and predictions you have done.")
    parser.add_argument("--file", help="a progress file (default: COURSE_PROGRESS_FILE or data/progress/progress.jsonl)")
    args = parser.parse_args(argv)
    print(table(load(args.file) if args.file else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
