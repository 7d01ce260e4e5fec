"""docs/teaching.md is accurate to the lessons as they are.

Every lesson notebook has a section in the guide; every section or exercise it names (written
`§ Title` in backticks, or `§ lesson NN: Title` for another lesson's) is a heading of that
notebook, compared without difficulty marks, stated times or spacing; every exercise is placed in
class or at home; every class-mode tab it names (`tab: Name`) is a tab of class_mode.ipynb; every
file and `python -m` command it names exists; its minutes are the ones bench/class_times.py
computes now; and every class of its plan adds up to 90 minutes and has room for its lessons.
Reads files only: no model runs.
"""
import ast
import functools
import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "teaching.md"
NOTEBOOKS = REPO / "notebooks"
CLASS_MODE = REPO / "class_mode" / "class_mode.ipynb"
CLASS_MINUTES = 90
SLOTS = ("demo", "notebook", "exercises", "exit quiz", "discussion")  # the plan's columns that hold minutes
TOLERANCE_MIN = 2  # the guide's rounded minutes may lag the computed ones by this much

SECTION_REF = re.compile(r"``\s?§ (.+?)\s?``|`§ ([^`]+)`")
TAB_REF = re.compile(r"`tab: ([^`]+)`")
LESSON_HEADING = re.compile(r"^## .*\(`notebooks/([\w-]+)\.ipynb`\)\s*$", re.MULTILINE)
TIME_LINE = re.compile(r"^\*\*Time\.\*\* (\d+) minutes.*$", re.MULTILINE)
EXERCISE_MINUTES = re.compile(r"(\d+) of exercises")


def normalise(title: str) -> str:
    """A heading without its difficulty marks, stated time, emoji, emphasis and spacing."""
    title = re.sub(r"\([^()]*\bminutes?\b[^()]*\)", "", title)  # "(🟠🟠⚪ · about 10 minutes)"
    title = re.sub(r"\babout \d+ minutes?\b", "", title)
    return re.sub(r"[^0-9a-z]+", "", title.lower())


@functools.lru_cache(maxsize=None)
def notebook_headings(stem: str) -> dict[str, str]:
    """{normalised heading: heading} of every ##, ### and #### heading of a notebook."""
    cells = json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]
    headings = {}
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                found = re.match(r"#{2,4}\s+(.*)", line)
                if found:
                    headings[normalise(found.group(1))] = found.group(1).strip()
    return headings


def class_mode_tabs() -> list[str]:
    """The tab titles of class mode: the first item of each (title, line, build) in EXPLORERS."""
    cells = json.loads(CLASS_MODE.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
            if any(getattr(t, "id", None) == "EXPLORERS" for t in targets) and isinstance(node.value, ast.List):
                return [ast.literal_eval(item.elts[0]) for item in node.value.elts]
    raise AssertionError(f"no EXPLORERS list found in {CLASS_MODE}")


def guide_sections() -> dict[str, str]:
    """{notebook stem: the text of its section in the guide, up to the next '## ' heading}."""
    text = GUIDE.read_text(encoding="utf-8")
    sections = {}
    for mark in LESSON_HEADING.finditer(text):
        nxt = re.compile(r"^## ", re.MULTILINE).search(text, mark.end())
        sections[mark.group(1)] = text[mark.start(): nxt.start() if nxt else len(text)]
    return sections


def table(header: str) -> list[dict]:
    """The rows of the guide's markdown table whose header starts with `header`, as dicts."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(header)}.*$", text, re.MULTILINE)
    assert found, f"docs/teaching.md has no table starting '{header}'"
    split = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]
    columns = split(found.group(0))
    rows = []
    for line in text[found.end():].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(columns, split(line))))
    return rows


def minutes(cell: str) -> int:
    found = re.search(r"\d+", cell)
    assert found, f"no minutes in {cell!r}"
    return int(found.group(0))


def class_times():
    spec = importlib.util.spec_from_file_location("class_times", REPO / "bench" / "class_times.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures():
    module = class_times()
    run_s = module.measured_run_seconds()
    return {name: module.lesson_figures(name, run_s) for name in module.lesson_names()}


def refs(text: str) -> list[str]:
    return [a or b for a, b in SECTION_REF.findall(text)]


def test_normalise_ignores_marks_and_spacing():
    assert normalise("### Exercise 2: nearest neighbours (🟠🟠⚪ · about 10 minutes)") == \
        normalise("Exercise 2:  nearest neighbours")
    assert normalise("6. What did *our* training cost?") == normalise("6. What did our training cost?")
    assert normalise("Exercise 1: layer norm") != normalise("Exercise 2: the residual block")


def test_every_notebook_has_a_section():
    stems = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    missing = sorted(set(stems) - set(guide_sections()))
    assert not missing, f"docs/teaching.md has no section '## ... (`notebooks/NAME.ipynb`)' for: {missing}"


def test_every_section_named_exists_in_its_notebook():
    wrong = []
    for stem, text in guide_sections().items():
        headings = notebook_headings(stem)
        named = refs(text)
        assert named, f"the guide's section on {stem} names none of its sections"
        for title in named:
            other = re.match(r"lesson (\d\d): (.*)", title)  # a heading of another lesson
            if other:
                (path,) = NOTEBOOKS.glob(f"{other.group(1)}_*.ipynb")
                if normalise(other.group(2)) not in notebook_headings(path.stem):
                    wrong.append(f"{path.stem}: § {other.group(2)}")
            elif normalise(title) not in headings:
                wrong.append(f"{stem}: § {title}")
    assert not wrong, "the guide names headings the notebooks do not have:\n" + "\n".join(wrong)


def test_every_exercise_is_placed_in_class_or_homework():
    for stem, text in guide_sections().items():
        named = {normalise(title) for title in refs(text)}
        for heading in notebook_headings(stem).values():
            if re.search(r"\bExercises?\b", heading):
                assert normalise(heading) in named, f"the guide's section on {stem} does not say where '{heading}' is done"


def test_every_tab_named_exists_in_class_mode():
    tabs = class_mode_tabs()
    named = set(TAB_REF.findall(GUIDE.read_text(encoding="utf-8")))
    assert named, "the guide names no class-mode tab"
    assert named <= set(tabs), f"tabs not in class mode: {sorted(named - set(tabs))} (it has {tabs})"


def test_every_file_and_command_named_exists():
    spans = re.findall(r"`+([^`]+)`+", GUIDE.read_text(encoding="utf-8"))
    missing = []
    for span in spans:
        for path in re.findall(r"(?<![\w/])((?:notebooks|docs|class|class_mode|course_lib|scripts|bench|data)/[\w./-]*)", span):
            if not (REPO / path).exists():
                missing.append(path)
        for module in re.findall(r"python -m ([\w.]+)", span):
            base = REPO / module.replace(".", "/")
            if not any(p.exists() for p in (base.with_suffix(".py"), base / "__main__.py")):
                missing.append(f"python -m {module}")
    assert not missing, f"docs/teaching.md names what the repository does not have: {sorted(set(missing))}"


def test_time_lines_are_the_computed_minutes(figures):
    for stem, text in guide_sections().items():
        found = TIME_LINE.search(text)
        assert found, f"the guide's section on {stem} has no '**Time.** N minutes ...' line"
        exercises = EXERCISE_MINUTES.search(found.group(0))
        stated = {"notebook_min": int(found.group(1)), "exercise_min": int(exercises.group(1)) if exercises else 0}
        for key, value in stated.items():
            computed = figures[stem][key]
            assert abs(value - computed) <= TOLERANCE_MIN, f"{stem}: the guide says {value} for {key}, computed {computed:.1f}"


def test_time_table_is_the_computed_one(figures):
    rows = {}
    for row in table("| lesson | prose words |"):
        key = row["lesson"].split()[0]
        rows["widgets_gallery" if key.lower().startswith("widget") else key] = row
    for stem, computed in figures.items():
        row = rows.get(stem if stem == "widgets_gallery" else stem[:2])
        assert row, f"the time table of docs/teaching.md has no row for {stem}"
        for column, key in (("notebook", "notebook_min"), ("exercises", "exercise_min"), ("total", "total_min")):
            stated = minutes(row[column])
            assert abs(stated - computed[key]) <= TOLERANCE_MIN, \
                f"{stem}: the table says {column} {stated}, computed {computed[key]:.1f}"


def test_plan_has_twelve_classes_of_ninety_minutes():
    rows = table("| class | lessons |")
    assert [int(r["class"]) for r in rows] == list(range(1, 13))
    for row in rows:
        slots = [minutes(row[slot]) for slot in SLOTS]
        assert sum(slots) == CLASS_MINUTES == minutes(row["total"]), \
            f"class {row['class']}: {dict(zip(SLOTS, slots))} add up to {sum(slots)}, not {CLASS_MINUTES}"


def test_plan_covers_every_lesson_once_with_room_for_it(figures):
    rows = table("| class | lessons |")
    taught = [n for row in rows for n in re.findall(r"\b\d\d\b", row["lessons"])]
    lessons = sorted(stem[:2] for stem in figures if stem[:2].isdigit())
    assert sorted(taught) == lessons, f"the plan teaches {sorted(taught)}, the lessons are {lessons}"
    for row in rows:
        its = re.findall(r"\b\d\d\b", row["lessons"])
        need = sum(f["notebook_min"] for stem, f in figures.items() if stem[:2] in its)
        given = minutes(row["notebook"])
        assert given >= need - TOLERANCE_MIN, f"class {row['class']} gives {given} notebook minutes, its lessons need {need:.0f}"
