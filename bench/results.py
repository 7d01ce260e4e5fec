"""Write one benchmark's section into bench/RESULTS.md (shared by the bench scripts)."""
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(title: str, section: str, path: Path = RESULTS) -> None:
    """Replace the section headed "## {title}" in RESULTS.md with `section`, or append it.

    `section` starts with its own "## {title}" line. The file is written atomically.
    """
    from course_lib.fileio import atomic_write_text

    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda m: section.rstrip("\n") + "\n\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + section
    atomic_write_text(path, new.rstrip("\n") + "\n")
