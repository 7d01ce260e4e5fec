"""Keep each lesson module's HASHES block in step with the answer key (answers.py).

    python -m course_lib.quiz --write-hashes          # every lesson in the key
    python -m course_lib.quiz --write-hashes 05 06    # only these
    python -m course_lib.quiz --check                 # exit status 1 if a block is out of date
"""
import importlib
import re
from pathlib import Path

from .core import WrongKind, answer_key, hash_of_answer, lesson_id, lesson_module, questions

HEADER = "# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit."
_BLOCK = re.compile(re.escape(HEADER) + r"\nHASHES = \{.*?\n\}\n", re.DOTALL)


def expected_hashes(lesson) -> dict:
    """{question id: hash} computed from the answer key (ValueError if the key does not fit)."""
    lesson = lesson_id(lesson)
    key = answer_key(lesson)
    if key is None:
        raise ValueError("the answer key course_lib/quiz/answers.py is missing")
    qs = questions(lesson)
    ids = [q.id for q in qs]
    if set(key) != set(ids):
        raise ValueError(f"lesson {lesson}: the answer key has {sorted(key)}, the questions are {ids}")
    out = {}
    for q in qs:
        try:
            out[q.id] = hash_of_answer(q, lesson, key[q.id])
        except WrongKind as e:
            raise ValueError(f"lesson {lesson}, {q.id}: the key's answer does not fit the question: {e}") from None
    return out


def block(hashes: dict) -> str:
    body = "".join(f'    "{k}": "{v}",\n' for k, v in hashes.items())
    return f"{HEADER}\nHASHES = {{\n{body}}}\n"


def write_hashes(lesson) -> bool:
    """Rewrite (or append) the HASHES block of course_lib/quiz/lessonNN.py; True if it changed."""
    module = lesson_module(lesson)
    path = Path(module.__file__)
    source = path.read_text(encoding="utf-8")
    new_block = block(expected_hashes(lesson))
    if _BLOCK.search(source):
        new = _BLOCK.sub(lambda m: new_block, source, count=1)
    else:
        new = source.rstrip("\n") + "\n\n\n" + new_block
    if new == source:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def key_lessons() -> list:
    answers = importlib.import_module(f"{__package__}.answers")
    return sorted(lesson for lesson, answers_ in answers.ANSWERS.items() if answers_)
