"""Make the student and the instructor edition of the course from the same notebooks.

    python scripts/make_editions.py              # writes dist/student/ and dist/instructor/
    python scripts/make_editions.py --out /tmp/x

dist/student/     the notebooks as learners get them (outputs cleared, exercises unwritten), the
                  library without its reference solutions (course_lib/exercises/solutions/) and
                  without any answer key (every `answers.py`), the shipped data, pyproject.toml,
                  requirements.txt, LICENSE and a README for learners. The checkers still work:
                  they compare with the library's own pieces, never with a solution.
dist/instructor/  the same notebooks with every exercise filled in with its reference solution
                  (and the exit quizzes with their answers, where course_lib.quiz can fill them),
                  the whole library, class_mode/ and docs/teaching.md.

Files come from the checkout as git sees it (tracked files, plus new ones that are not ignored;
data/ only as committed). Running it again replaces the editions it made before (each edition
folder holds an EDITION.json); a non-empty folder without one is refused.
"""
import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MARKER = "EDITION.json"
EDITIONS = ("student", "instructor")
SOLUTIONS = Path("course_lib/exercises/solutions")
LESSON = re.compile(r"^(\d\d)_.*\.ipynb$")

COMMON = ["pyproject.toml", "requirements.txt", "LICENSE"]
STUDENT_README = """# Build a GPT: the course

Thirteen JupyterLab notebooks in which you build a small GPT, train it, turn it into a chatbot,
tune it with your own preferences and look inside it.

    python -m venv .venv
    .venv/bin/pip install -r requirements.txt
    .venv/bin/pip install -e . --no-deps
    .venv/bin/jupyter lab notebooks/

Start with `notebooks/00_prediction_machine.ipynb`. Each lesson has small exercises: write the
function where it says `raise NotImplementedError`, then run the cell below it; the checker says
what is right, or what is still wrong and a hint.
"""
INSTRUCTOR_README = """# Build a GPT: the instructor edition

The course as learners get it, with every exercise (and exit quiz) filled in with its answer,
the reference solutions (`course_lib/exercises/solutions/`), the class-mode app (`class_mode/`)
and the guide for teachers, `docs/teaching.md`. Do not hand this folder to learners: give them
the student edition, made by the same command (`python scripts/make_editions.py`).

    python -m venv .venv
    .venv/bin/pip install -r requirements.txt
    .venv/bin/pip install -e . --no-deps
    .venv/bin/jupyter lab notebooks/
"""


class EditionError(Exception):
    """The editions cannot be made; the message says why."""


# -- which files -----------------------------------------------------------------------------------

def source_files(repo: Path = REPO, skip=()) -> list:
    """Paths (relative, posix) of the checkout: tracked files and new ones git does not ignore;
    data/ only as committed. Paths under any folder in `skip` are left out."""
    def git(*args):
        try:
            out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", *args], check=True,
                                 capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise EditionError(f"{repo} must be a git checkout of the course (git ls-files failed: {e})") from None
        return [p for p in out.split("\0") if p]

    tracked = git("--cached")
    new = [p for p in git("--others", "--exclude-standard") if not p.startswith("data/")]
    skip = [s.rstrip("/") + "/" for s in skip]
    return sorted(p for p in set(tracked) | set(new)
                  if (repo / p).is_file() and not any(p.startswith(s) for s in skip))


def is_answer_file(path: str) -> bool:
    """Files only the instructor edition gets: the reference solutions and every answer key."""
    return path.startswith(SOLUTIONS.as_posix() + "/") or Path(path).name == "answers.py"


def edition_files(files: list, edition: str) -> list:
    """The library, notebooks and data of an edition (READMEs are written, not copied)."""
    keep = []
    for p in files:
        top = p.split("/", 1)[0]
        if top in ("course_lib", "data") or (top == "notebooks" and p.endswith(".ipynb")) or p in COMMON:
            if edition == "student" and is_answer_file(p):
                continue
            keep.append(p)
        elif edition == "instructor" and (top == "class_mode" or p == "docs/teaching.md"):
            keep.append(p)
    return keep


# -- notebooks -------------------------------------------------------------------------------------

def cleared(nb: dict) -> dict:
    """The notebook without outputs, execution counts or widget state."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nb


def stub_functions(source: str) -> list:
    """The exercise functions a cell defines: top-level defs whose body ends in
    `raise NotImplementedError`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and isinstance(node.body[-1], ast.Raise):
            exc = node.body[-1].exc
            if isinstance(exc, ast.Call):
                exc = exc.func
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                found.append(node)
    return found


def reference_sources(repo: Path, lesson: str) -> dict:
    """{exercise name: the source of its reference solution, renamed to the learner's names}."""
    path = repo / SOLUTIONS / f"lesson{lesson}.py"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    defs = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name.endswith("_solution")]
    names = {n.name for n in defs}

    def learner_names(src):  # attention_head_solution calls causal_mask_solution: the learner's causal_mask
        return re.sub(r"\b(\w+)_solution\b", lambda m: m[1] if m[0] in names else m[0], src)

    return {n.name[: -len("_solution")]: learner_names(ast.get_source_segment(text, n)) for n in defs}


def fill_exercises(source: str, solutions: dict, where: str) -> tuple:
    """(source with each exercise function replaced by its reference solution, names filled)."""
    stubs = stub_functions(source)
    if not stubs:
        return source, []
    lines = source.splitlines(keepends=True)
    for node in reversed(stubs):  # from the bottom, so earlier line numbers stay right
        if node.name not in solutions:
            raise EditionError(f"{where}: the exercise `{node.name}` has no reference solution "
                               f"`{node.name}_solution` in {SOLUTIONS}/")
        start = node.lineno - 1 - len(node.decorator_list)
        tail = "\n" if lines[node.end_lineno - 1].endswith("\n") else ""
        lines[start:node.end_lineno] = [solutions[node.name] + tail]
    return "".join(lines), [n.name for n in stubs]


def quiz_filler():
    """course_lib.quiz.instructor_cell(source, lesson) when that module exists, else None."""
    sys.path.insert(0, str(REPO))
    try:
        from course_lib.quiz import instructor_cell
    except ImportError:
        return None
    finally:
        sys.path.remove(str(REPO))
    return instructor_cell


def write_notebook(src: Path, dst: Path, edition: str, repo: Path, quiz, counts: dict) -> None:
    nb = cleared(json.loads(src.read_text(encoding="utf-8")))
    m = LESSON.match(src.name)
    if edition == "instructor" and m:
        lesson = m[1]
        solutions = reference_sources(repo, lesson)
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            new, filled = fill_exercises(source, solutions, f"notebooks/{src.name}, cell {i}")
            counts["exercises"] += len(filled)
            if quiz is not None:
                try:
                    answered = quiz(new, lesson)
                except ValueError as e:
                    raise EditionError(f"notebooks/{src.name}, cell {i}: {e}") from None
                if answered is not None:
                    new = answered
                    counts["quizzes"] += 1
            if new != source:
                cell["source"] = new.splitlines(keepends=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts["notebooks"] += 1


# -- writing ---------------------------------------------------------------------------------------

def check_target(folder: Path, repo: Path) -> None:
    """Refuse a folder that holds the course itself, or anything that is not an edition we made."""
    folder, repo = folder.resolve(), repo.resolve()
    if folder == repo or folder in repo.parents:
        raise EditionError(f"{folder} contains the course itself; choose an output folder such as dist/")
    if folder.exists():
        if not folder.is_dir():
            raise EditionError(f"{folder} is a file, not a folder")
        if any(folder.iterdir()) and not (folder / MARKER).is_file():
            raise EditionError(f"{folder} is not empty and is not an edition made by this script (no {MARKER}); "
                               "remove it or choose another --out")


def commit_of(repo: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def link_or_copy(src: Path, dst: Path) -> bool:
    """Hard-link a (large, read-only) data file when the file system allows; else copy. True if linked."""
    try:
        os.link(src, dst)
        return True
    except OSError:
        shutil.copy2(src, dst)
        return False


def make_edition(edition: str, out: Path, files: list, repo: Path, quiz) -> dict:
    final = out / edition
    check_target(final, repo)
    staging = out / f".{edition}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counts = dict(notebooks=0, exercises=0, quizzes=0, files=0, data_bytes=0, linked=0)
    for p in edition_files(files, edition):
        src, dst = repo / p, staging / p
        dst.parent.mkdir(parents=True, exist_ok=True)
        if p.startswith("notebooks/"):
            write_notebook(src, dst, edition, repo, quiz, counts)
        elif p.startswith("data/"):
            counts["linked"] += link_or_copy(src, dst)
            counts["data_bytes"] += src.stat().st_size
        else:
            shutil.copy2(src, dst)
        counts["files"] += 1
    (staging / "README.md").write_text(STUDENT_README if edition == "student" else INSTRUCTOR_README,
                                       encoding="utf-8")
    marker = {"edition": edition, "made_by": "scripts/make_editions.py", "commit": commit_of(repo),
              "quizzes_filled": quiz is not None if edition == "instructor" else False}
    (staging / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    if edition == "student":
        leaks = solution_leaks(staging, repo)
        if leaks:
            shutil.rmtree(staging)
            raise EditionError("the student edition would contain solutions: " + "; ".join(leaks[:5]))
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    return counts


def solution_names(repo: Path = REPO) -> set:
    """The names of every reference solution (`X_solution`) in the solutions package."""
    names = set()
    for path in sorted((repo / SOLUTIONS).glob("lesson*.py")):
        names |= {n.name for n in ast.parse(path.read_text(encoding="utf-8")).body
                  if isinstance(n, ast.FunctionDef) and n.name.endswith("_solution")}
    return names


def solution_leaks(folder: Path, repo: Path = REPO) -> list:
    """Where a solution shows in an edition: a solutions package, an answers.py, or a solution's name
    in any .py or .ipynb file. Empty for a clean student edition."""
    names = solution_names(repo)
    leaks = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() and path.name == "solutions" and "exercises" in path.parts:
            leaks.append(f"{rel}/ (the solutions package)")
        elif path.name == "answers.py":
            leaks.append(f"{rel} (an answer key)")
        elif path.suffix in (".py", ".ipynb"):
            text = path.read_text(encoding="utf-8")
            found = sorted(n for n in names if n in text)
            if found:
                leaks.append(f"{rel} names {', '.join(found)}")
    return leaks


def build(out: Path, repo: Path = REPO) -> dict:
    """Write out/student and out/instructor; return what each holds."""
    out = Path(out).absolute()
    for edition in EDITIONS:
        check_target(out / edition, repo)
    try:
        skip = [out.resolve().relative_to(repo.resolve()).as_posix()]
    except ValueError:
        skip = []  # the output folder is outside the checkout
    files = source_files(repo, skip=skip)
    quiz = quiz_filler()
    return {edition: make_edition(edition, out, files, repo, quiz) for edition in EDITIONS}


def describe(out: Path, edition: str, c: dict) -> str:
    data = f"data/ ({c['data_bytes'] / 1e6:.1f} MB, {c['linked']} files hard-linked to the checkout's)"
    if edition == "student":
        what = (f"{c['notebooks']} notebooks (outputs cleared, exercises unwritten), course_lib/ without its "
                f"solutions or answer keys, {data}")
    else:
        quizzes = (f"{c['quizzes']} exit {'quiz' if c['quizzes'] == 1 else 'quizzes'} answered" if c["quizzes"]
                   else "no quiz answered (course_lib.quiz.instructor_cell absent)")
        what = (f"{c['notebooks']} notebooks with {c['exercises']} exercises filled in and {quizzes}, "
                f"the whole course_lib/, {data}, docs/teaching.md and class_mode/ where present")
    return f"{out / edition}: {c['files'] + 2} files: {what}, README.md, {MARKER}."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        result = build(args.out)
    except EditionError as e:
        print(f"make_editions: {e}", file=sys.stderr)
        return 2
    for edition, counts in result.items():
        print(describe(args.out, edition, counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
