"""The exit quiz: show the questions, check a learner's answers, fill them in for instructors.

    quiz.show("05")                     # the questions, with their options
    my_answers = {"q1": None, "q2": None}
    score = quiz.check("05", my_answers)

`check` prints one line per question (right with the explanation, not yet with the hint,
not answered, or an answer of the wrong kind) and a total, and returns the number right.
It records the result in the learner's progress file (`course_lib.progress`). With
COURSE_FILL_SOLUTIONS=1 (the tests) it checks the answer key instead, and records nothing.
"""
import json
import math
import re

from ..exercises.core import FAIL, PASS, fill_solutions
from .core import WrongKind, answer_key, is_right, lesson_id, questions, stored_hashes

NOT_ANSWERED = "⬜"


def _markdown(lesson) -> str:
    lines = []
    for q in questions(lesson):
        lines.append(f"**{q.id}.** {q.text}")
        if q.kind == "choice":
            lines.append("")
            lines.extend(f"- **{letter}**: {option}" for letter, option in zip(q.letters(), q.options))
        else:
            lines.append(f"*(answer with {q.expects()})*")
        lines.append("")
    return "\n".join(lines)


class _Questions:
    """Displays as Markdown in JupyterLab and as plain text elsewhere."""

    def __init__(self, text):
        self.text = text

    def _repr_markdown_(self):
        return self.text

    def __repr__(self):
        return self.text.replace("**", "")


def show(lesson):
    """The lesson's exit-quiz questions (Markdown in a notebook)."""
    return _Questions(_markdown(lesson_id(lesson)))


def answer_cell(lesson) -> str:
    """The source of a lesson's exit-quiz cell: an empty `my_answers` dict, then the check."""
    lesson = lesson_id(lesson)
    lines = ["my_answers = {"]
    lines += [f'    "{q.id}": None,  # {q.expects()}' for q in questions(lesson)]
    lines += ["}", f'score = quiz.check("{lesson}", my_answers)']
    return "\n".join(lines)


def check(lesson, answers: dict) -> int:
    """Check `answers` ({question id: answer or None}); print a verdict per question and the
    total; return the number of right answers."""
    lesson = lesson_id(lesson)
    qs = questions(lesson)
    if not isinstance(answers, dict):
        raise ValueError("give your answers as a dict such as {\"q1\": \"b\", \"q2\": 0.5}")
    unknown = sorted(map(str, set(answers) - {q.id for q in qs}))
    if unknown:
        names = ", ".join(q.id for q in qs)
        raise ValueError(f"lesson {lesson}'s quiz has no question {', '.join(unknown)} (it has: {names})")
    test_mode = fill_solutions()
    if test_mode:
        key = answer_key(lesson)
        if key is None:
            print("(test mode: this edition has no answer key; checking the answers as given)")
        else:
            print("(test mode: checking the answer key)")
            answers = key
    hashes = stored_hashes(lesson)
    right = 0
    results = {}
    for q in qs:
        given = answers.get(q.id)
        if given is None:
            print(f"{NOT_ANSWERED} {q.id}: not answered yet (answer with {q.expects()}).")
            results[q.id] = None
            continue
        if q.id not in hashes:
            raise ValueError(f"lesson {lesson}, {q.id}: no answer hash stored; run "
                             "`python -m course_lib.quiz --write-hashes`")
        try:
            ok = is_right(q, lesson, given, hashes[q.id])
        except WrongKind as e:
            print(f"{FAIL} {q.id}: {e}.")
            results[q.id] = False
            continue
        results[q.id] = ok
        if ok:
            right += 1
            print(f"{PASS} {q.id}: right. {q.explanation}".rstrip())
        else:
            print(f"{FAIL} {q.id}: not yet. {('Hint: ' + q.hint) if q.hint else 'Try again.'}".rstrip())
    print(f"Score: {right} of {len(qs)}" + (" 🎉" if right == len(qs) else "."))
    if not test_mode:
        from .. import progress

        progress.record("quiz", lesson, "exit quiz", passed=right == len(qs), score=right, total=len(qs),
                        answers={k: v for k, v in results.items() if v is not None})
    return right


def _literal(answer, tolerance) -> str:
    """The answer as Python source: "b", 7, or a number rounded to a tenth of its tolerance."""
    if isinstance(answer, str):
        return json.dumps(answer)
    if tolerance == 0 or float(answer).is_integer():
        return str(int(answer))
    return repr(round(float(answer), max(0, -math.floor(math.log10(tolerance / 10)))))


_ANSWER_SLOT = re.compile(r"""(?P<key>(?P<q>["'])(?P<id>[a-z][a-z0-9_]*)(?P=q)\s*:\s*)None\b""")


def instructor_cell(source: str, lesson):
    """If `source` is an exit-quiz cell (it calls `quiz.check(` on a `my_answers` dict), return it
    with the right answers in place of the `None`s; otherwise None. Needs answers.py."""
    if "quiz.check(" not in source or "my_answers" not in source:
        return None
    lesson = lesson_id(lesson)
    key = answer_key(lesson)
    if key is None:
        raise ValueError("instructor_cell needs the answer key, course_lib/quiz/answers.py, which this edition lacks")
    if not key:
        raise ValueError(f"the answer key has no answers for lesson {lesson}")

    tolerances = {q.id: q.tolerance for q in questions(lesson)}

    def fill(m):
        qid = m["id"]
        if qid not in key or qid not in tolerances:
            raise ValueError(f"the answer key of lesson {lesson} has no answer for {qid!r}")
        return m["key"] + _literal(key[qid], tolerances[qid])

    return _ANSWER_SLOT.sub(fill, source)
