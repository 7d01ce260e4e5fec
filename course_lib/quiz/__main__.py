"""python -m course_lib.quiz --write-hashes [LESSON ...] | --check [LESSON ...]"""
import argparse
import sys

from .core import stored_hashes
from .hashes import expected_hashes, key_lessons, write_hashes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.quiz",
                                     description="Keep the quiz answer hashes in step with answers.py.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write-hashes", action="store_true", help="rewrite the HASHES block of each lesson module")
    what.add_argument("--check", action="store_true", help="exit with status 1 if a HASHES block is out of date")
    parser.add_argument("lessons", nargs="*", help="lessons such as 05 (default: every lesson in the key)")
    args = parser.parse_args(argv)
    try:
        lessons = args.lessons or key_lessons()
        stale = []
        for lesson in lessons:
            if args.write_hashes:
                if write_hashes(lesson):
                    print(f"lesson {lesson}: hashes written")
            elif stored_hashes(lesson) != expected_hashes(lesson):
                stale.append(lesson)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if stale:
        print(f"out of date: lessons {', '.join(stale)}; run python -m course_lib.quiz --write-hashes",
              file=sys.stderr)
        return 1
    if args.check:
        print(f"hashes in step with the answer key for lessons {', '.join(lessons)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
