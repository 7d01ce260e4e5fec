"""The class server (class/): students log in, open lesson 00 and label at the same time.

bench/class_load_test.py does the work: it starts the hub with the documented command
(class/start.sh, which first installs JupyterHub and its npm proxy when they are missing),
logs in the students, each in their own browser context, opens lesson 00 in each one's
JupyterLab, has all of them label pairs with the preference widget at once (and the first
open class mode from their own server), then checks that
every label arrived exactly once from the right student, and that the class's labels merge
(and train) with course_lib.rlhf.classroom.

- test_class_hub_starts_and_gathers_labels (in CI): 2 students open lesson 00 and give 3
  labels each, the first opens class mode; merged, not trained (about a minute).
- test_class_hub_under_load: the load test of bench/RESULTS.md (every cell of lesson 00,
  10 labels each, merged and trained); several minutes, so it runs only with the number of
  students in COURSE_CLASS_HUB, e.g. COURSE_CLASS_HUB=3.

Figures: test-output/class/load-N.json; screenshots: test-output/browser/class-hub-*.png.
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import class_load_test  # noqa: E402 (bench/ is not a package)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def students_under_load():
    value = os.environ.get("COURSE_CLASS_HUB", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        pytest.fail(f"COURSE_CLASS_HUB is {value!r}: the number of students (or unset)")
    return int(value)


def check(result, students, labels_each, trained):
    assert not result["problems"], "\n".join(result["problems"])
    assert result["merged"]["students"] == students
    assert result["merged"]["labels"] == students * labels_each
    if trained:
        decided = sum(c != "tie" for c in class_load_test.label_choices()[:labels_each])  # ties teach nothing
        assert result["trained_on"]["labels"] == students * decided


def needs_npm():
    """The hub's proxy comes from npm; on a machine without it (outside CI) the test says how."""
    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing: the class server's proxy comes from the npm registry (apt install npm)")
        pytest.skip("npm is not installed: the class server needs it for JupyterHub's proxy (apt install npm)")


def test_class_hub_starts_and_gathers_labels(browser):
    needs_npm()
    class_load_test.install()
    result = class_load_test.run_class(browser, 2, lesson_cells=0, labels_each=3, train=False)
    check(result, 2, 3, trained=False)


def test_class_hub_under_load(browser):
    students = students_under_load()
    if students is None:
        pytest.skip("the load test takes minutes: set COURSE_CLASS_HUB to a number of students to run it")
    class_load_test.install()
    result = class_load_test.run_class(browser, students)
    check(result, students, class_load_test.LABELS_EACH, trained=True)
