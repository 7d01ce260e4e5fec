"""course_lib: the real pieces of the course "Build a GPT", one small module per idea.

Lessons import from here; see docs/library.md for the map.
"""
import os

__version__ = "0.1.0"


def fast_mode() -> bool:
    """True when COURSE_FAST=1: lessons shrink their training so the tests run quickly."""
    return os.environ.get("COURSE_FAST", "0") not in ("", "0", "false", "False")
