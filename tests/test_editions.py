"""The student and instructor editions (scripts/make_editions.py): no solution reaches a student,
the student's checkers still explain what is missing, and the instructor's filled-in exercises
pass their own checkers and lessons run clean."""
import ast
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_editions", REPO / "scripts" / "make_editions.py")
me = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(me)

SOLUTION_NAME = re.compile(r"\b\w+_solution\b")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions") / "dist"
    me.build(out)
    return out


def run_in(edition: Path, code: str, tmp_path, **env) -> str:
    """Run `code` with the edition's course_lib (not the checkout's editable install), learner's mode."""
    environ = {k: v for k, v in os.environ.items() if k not in ("COURSE_FILL_SOLUTIONS", "PYTHONPATH")}
    environ.update(PYTHONPATH=str(edition), COURSE_PROGRESS_FILE=str(tmp_path / "progress.jsonl"), **env)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=edition, env=environ,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def text_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".py", ".ipynb"):
            yield path, path.read_text(encoding="utf-8")


def code_lines(code: str) -> set:
    """The statements' lines of `code`, normalised by ast, that are long enough to be an answer."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a notebook cell with a shell or magic line
        return set()
    return {line.strip() for line in ast.unparse(tree).splitlines() if len(line.strip()) >= 30}


def solution_bodies() -> dict:
    """{solution name: the lines of its body (without the docstring)}."""
    bodies = {}
    for path in (REPO / me.SOLUTIONS).glob("lesson*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
                bodies[node.name] = code_lines(ast.unparse(ast.Module(body, [])))
    assert len(bodies) >= 21 and sum(map(len, bodies.values())) >= 15
    return bodies


# -- the student edition ---------------------------------------------------------------------------

def test_student_edition_has_no_solution_anywhere(dist):
    student = dist / "student"
    assert not (student / me.SOLUTIONS).exists()
    assert not list(student.rglob("answers.py")) and not list(student.rglob("solutions"))
    assert not (student / "tests").exists() and not (student / "docs").exists()
    bodies = solution_bodies()
    for path, text in text_files(student):
        assert not SOLUTION_NAME.search(text), f"{path} names a solution"
        # No whole solution in a lesson or a checker (a single line may be a step the lesson shows
        # before the exercise, or the task itself; the library holds the real pieces).
        if path.suffix == ".ipynb":
            found = set().union(*(code_lines("".join(c["source"])) for c in json.loads(text)["cells"]))
        elif "exercises" in path.parts:
            found = code_lines(text)
        else:
            continue
        whole = [name for name, lines in bodies.items() if len(lines) >= 2 and lines <= found]
        assert not whole, f"{path} holds the solutions {whole}"
    assert me.solution_leaks(student) == []


def test_student_notebooks_are_cleared_with_every_exercise_unwritten(dist):
    lessons = sorted((dist / "student" / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(lessons) == 13
    for path in lessons:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert all(not c.get("outputs") for c in cells), f"{path.name} has outputs"
        stubs = [c for c in cells if c["cell_type"] == "code" and me.stub_functions("".join(c["source"]))]
        assert stubs, f"{path.name} has no exercise"


def test_student_checkers_explain_an_unwritten_or_empty_answer(dist, tmp_path):
    out = run_in(dist / "student", """
        import importlib, course_lib
        print("LIB", course_lib.__file__)
        try:
            import course_lib.exercises.solutions
        except ModuleNotFoundError:
            print("NO SOLUTIONS PACKAGE")
        def unwritten(*args, **kwargs):
            raise NotImplementedError
        for n in range(13):
            lesson = importlib.import_module(f"course_lib.exercises.lesson{n:02d}")
            for name in sorted(dir(lesson)):
                if name.startswith("check_"):
                    check = getattr(lesson, name)
                    print("RESULT", name, check(unwritten), check(lambda *a, **k: None))
                    try:
                        getattr(lesson, name[len("check_"):] + "_solution")
                    except AttributeError:
                        print("NO", name)
        import os
        os.environ["COURSE_FILL_SOLUTIONS"] = "1"  # test mode, in an edition without solutions
        print("FILL MODE", lesson.check_lens(unwritten))
    """, tmp_path)
    assert f"LIB {dist / 'student' / 'course_lib' / '__init__.py'}" in out
    assert "NO SOLUTIONS PACKAGE" in out
    results = re.findall(r"RESULT (\w+) (\w+) (\w+)", out)
    assert len(results) >= 21 and all(a == b == "False" for _, a, b in results)
    assert out.count("not written yet") == len(results)
    assert out.count(": not yet. ") == len(results)  # each empty answer gets a reason, not a crash
    checks, fill_mode = out.split("(test mode")
    assert "raised" not in checks and "Traceback" not in out
    assert out.count("\nNO check_") == len(results)
    assert "no reference solutions" in out and "FILL MODE False" in out
    assert "your function raised" not in fill_mode  # not blamed on the learner


# -- the instructor edition ------------------------------------------------------------------------

def test_instructor_exercises_pass_their_checkers(dist, tmp_path):
    """Each filled exercise cell, run with its notebook's imports, passes its checker (learner's mode)."""
    out = run_in(dist / "instructor", """
        import ast, importlib, json, pathlib, sys
        for path in sorted(pathlib.Path("notebooks").glob("[0-9][0-9]_*.ipynb")):
            cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
            namespace = {}
            for source in cells:  # the notebook's imports, without running its lesson
                try:
                    tree = ast.parse(source)
                except SyntaxError:
                    continue
                imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
                exec(compile(ast.Module(imports, []), str(path), "exec"), namespace)
            lesson = importlib.import_module(f"course_lib.exercises.lesson{path.name[:2]}")
            for source in cells:
                if "raise NotImplementedError" in source:
                    print("UNFILLED", path.name)
            for source in cells:
                try:
                    tree = ast.parse(source)
                except SyntaxError:
                    continue
                names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and hasattr(lesson, "check_" + n.name)]
                if names:
                    exec(source, namespace)
                for name in names:
                    print("RESULT", path.name[:2], name, getattr(lesson, "check_" + name)(namespace[name]))
    """, tmp_path)
    results = re.findall(r"RESULT (\d\d) (\w+) (\w+)", out)
    assert len(results) == sum(1 for _ in _exercises()), out
    assert all(ok == "True" for *_, ok in results), out
    assert "UNFILLED" not in out and "test mode" not in out


def _exercises():
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                yield from me.stub_functions("".join(cell["source"]))


@pytest.mark.parametrize("name", ["06_transformer_block"])  # two exercises and the block they feed
def test_instructor_lesson_runs_clean(dist, name, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    instructor = dist / "instructor"
    nb = json.loads((instructor / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": "import course_lib; print('LIB', course_lib.__file__)"})
    monkeypatch.delenv("COURSE_FILL_SOLUTIONS", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(instructor))
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "progress.jsonl"))
    import nbformat

    nb = nbformat.reads(json.dumps(nb), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(instructor / "notebooks")}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"LIB {instructor / 'course_lib' / '__init__.py'}" in printed
    assert "✅" in printed and "❌" not in printed and "test mode" not in printed


def test_instructor_edition_has_the_solutions_and_the_teachers_guide(dist):
    instructor = dist / "instructor"
    assert (instructor / me.SOLUTIONS / "lesson04.py").is_file()
    if (REPO / "docs" / "teaching.md").exists():
        assert (instructor / "docs" / "teaching.md").is_file()
    assert json.loads((instructor / me.MARKER).read_text())["edition"] == "instructor"


# -- the build -------------------------------------------------------------------------------------

def _snapshot(folder: Path) -> dict:
    """Every file's hash (but the marker's, which names the checkout's commit: other work goes on)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != me.MARKER}


def test_build_again_gives_the_same_editions(dist):
    me.build(dist)  # from the checkout as it is now, then once more
    before = {e: _snapshot(dist / e) for e in me.EDITIONS}
    me.build(dist)
    assert {e: _snapshot(dist / e) for e in me.EDITIONS} == before
    assert not [p for p in dist.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_build_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "homework.txt").write_text("mine")
    with pytest.raises(me.EditionError, match="not an edition made by this script"):
        me.build(tmp_path)
    assert (tmp_path / "student" / "homework.txt").read_text() == "mine"
    with pytest.raises(me.EditionError, match="contains the course itself"):
        me.check_target(REPO, REPO)


def test_an_exercise_without_a_solution_is_a_clear_error():
    source = "def mystery(x):\n    # do something\n    raise NotImplementedError\n"
    with pytest.raises(me.EditionError, match="`mystery` has no reference solution"):
        me.fill_exercises(source, {}, "notebooks/99_x.ipynb, cell 3")
    filled, names = me.fill_exercises("import torch\n" + source + "print(1)\n",
                                      {"mystery": "def mystery(x):\n    return x"}, "here")
    assert names == ["mystery"] and filled == "import torch\ndef mystery(x):\n    return x\nprint(1)\n"
