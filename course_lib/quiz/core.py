"""Questions, their answer hashes, and the lessons' question modules.

A question is either multiple choice (the learner answers with a letter: "a", "b", ...) or a
number with an absolute tolerance. Each lesson's questions live in `course_lib/quiz/lessonNN.py`:

    PREDICTIONS = [choice("p1", "...?", ["...", "..."]), number("p2", "...?")]   # predict-first
    QUESTIONS = [choice("q1", "...?", [...], hint=..., explanation=...),         # the exit quiz
                 number("q2", "...?", tolerance=0.01, hint=..., explanation=...)]
    HASHES = {"q1": "...", "q2": "..."}   # generated: python -m course_lib.quiz --write-hashes

The plain answer key is only in `answers.py` (the student edition leaves it out); the
lesson modules carry salted hashes of the normalised right answers, so checking works
without the key.

How a number is hashed. With tolerance `tol`, numbers are rounded to a grid of step
`g = tol / GRID` (GRID = 4): cell(x) = floor(x / g + 0.5). The hash stores the right answer's
cell; a learner's x is right when its cell is within GRID cells of it. Each rounding moves a
number by less than half a step, so two numbers within `tol` (GRID steps) of each other are
always less than GRID + 1 cells apart: every answer within the tolerance is accepted. And
an accepted answer is less than GRID + 1 steps away: nothing more than 1.25 x tol off is.
Tolerance 0 asks for an exact whole number.

The hash is salted with the lesson and the question id, so equal answers to different
questions do not look alike. It keeps the answer out of sight; it is no lock (a
multiple-choice answer can always be found by trying the letters).
"""
import hashlib
import importlib
import math
import re
from dataclasses import dataclass, field, replace

GRID = 4
SALT = "course_lib.quiz/v1"
LETTERS = "abcdefgh"


@dataclass(frozen=True)
class Question:
    """One question: `kind` is "choice" (options, answered by letter) or "number" (tolerance)."""

    id: str
    text: str
    kind: str
    options: tuple = ()
    tolerance: float = 0.0
    hint: str = ""
    explanation: str = ""
    lesson: str = field(default="", compare=False)

    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    def expects(self) -> str:
        """What kind of answer the question wants, in words (for messages and cell comments)."""
        if self.kind == "choice":
            return "one of the letters " + ", ".join(f'"{x}"' for x in self.letters())
        return "a whole number" if self.tolerance == 0 else "a number"


def _check_id(qid: str) -> str:
    if not isinstance(qid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", qid):
        raise ValueError(f"a question id is a short lower-case name such as 'q1', not {qid!r}")
    return qid


def choice(qid: str, text: str, options, hint: str = "", explanation: str = "") -> Question:
    """A multiple-choice question; the learner answers with the letter of an option."""
    options = tuple(options)
    if not 2 <= len(options) <= len(LETTERS) or not all(isinstance(o, str) and o for o in options):
        raise ValueError(f"question {qid!r}: give 2 to {len(LETTERS)} options, each a non-empty string")
    return Question(_check_id(qid), text, "choice", options, 0.0, hint, explanation)


def number(qid: str, text: str, tolerance: float = 0.0, hint: str = "", explanation: str = "") -> Question:
    """A question answered by a number, right within +- `tolerance` (0: an exact whole number)."""
    if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool) or not tolerance >= 0 \
            or math.isinf(tolerance):
        raise ValueError(f"question {qid!r}: the tolerance must be a number >= 0, not {tolerance!r}")
    return Question(_check_id(qid), text, "number", (), float(tolerance), hint, explanation)


# -- lessons ---------------------------------------------------------------------------------

def lesson_id(lesson) -> str:
    """'5', 5 or '05' -> '05'."""
    text = str(lesson).strip()
    if not text.isdigit() or not 0 <= int(text) <= 99:
        raise ValueError(f"a lesson is a number such as '05', not {lesson!r}")
    return f"{int(text):02d}"


def lesson_module(lesson):
    """The module `course_lib.quiz.lessonNN` (a clear error if the lesson has no questions)."""
    lesson = lesson_id(lesson)
    try:
        return importlib.import_module(f"{__package__}.lesson{lesson}")
    except ModuleNotFoundError as e:
        if e.name != f"{__package__}.lesson{lesson}":
            raise
        raise ValueError(f"lesson {lesson} has no quiz (no module course_lib/quiz/lesson{lesson}.py)") from None


def _find(items, qid, lesson, what):
    for q in items:
        if q.id == qid:
            return replace(q, lesson=lesson)
    names = ", ".join(q.id for q in items) or "none"
    raise ValueError(f"lesson {lesson} has no {what} {qid!r} (it has: {names})")


def questions(lesson) -> list:
    """The exit-quiz questions of a lesson, in order."""
    lesson = lesson_id(lesson)
    return [replace(q, lesson=lesson) for q in getattr(lesson_module(lesson), "QUESTIONS", [])]


def prediction(lesson, pid: str) -> Question:
    """One predict-first prompt of a lesson."""
    lesson = lesson_id(lesson)
    return _find(getattr(lesson_module(lesson), "PREDICTIONS", []), pid, lesson, "prediction")


def stored_hashes(lesson) -> dict:
    return dict(getattr(lesson_module(lesson), "HASHES", {}))


# -- answers and their hashes -------------------------------------------------------------

class WrongKind(ValueError):
    """The answer is not the kind the question asks for (a word where a number is wanted, ...)."""


def plain_number(value):
    """A tensor or numpy value holding one number -> that Python number; anything else unchanged."""
    if hasattr(value, "item") and not isinstance(value, str):
        count = value.numel() if hasattr(value, "numel") else getattr(value, "size", 1)
        if count == 1:
            return value.item()
    return value


def normalise(question: Question, answer) -> list:
    """The normalised forms of `answer` that count (one for a letter, 2 x GRID + 1 grid cells
    for a number). Raises WrongKind with a readable message for an answer of the wrong kind."""
    if question.kind == "choice":
        if not isinstance(answer, str):
            raise WrongKind(f"answer with {question.expects()} (in quotes), not {answer!r}")
        letter = answer.strip().strip("()").strip(".)").strip().lower()
        if letter not in question.letters() or len(letter) != 1:
            raise WrongKind(f"answer with {question.expects()}, not {answer!r}")
        return [letter]
    answer = plain_number(answer)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer):
        extra = " (without quotes)" if isinstance(answer, str) else ""
        raise WrongKind(f"answer with {question.expects()}{extra}, not {answer!r}")
    if question.tolerance == 0:
        if answer != int(answer):
            raise WrongKind(f"answer with {question.expects()}, not {answer!r}")
        return [str(int(answer))]
    step = question.tolerance / GRID
    cell = math.floor(answer / step + 0.5)
    return [str(cell + d) for d in range(-GRID, GRID + 1)]


def answer_hash(question: Question, lesson, normalised: str) -> str:
    text = f"{SALT}/{lesson_id(lesson)}/{question.id}/{normalised}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def hash_of_answer(question: Question, lesson, answer) -> str:
    """The hash of a right answer (the centre cell for a number)."""
    forms = normalise(question, answer)
    return answer_hash(question, lesson, forms[len(forms) // 2])


def is_right(question: Question, lesson, answer, expected_hash: str) -> bool:
    """True when `answer` hashes to the stored hash (WrongKind for an answer of the wrong kind)."""
    return any(answer_hash(question, lesson, f) == expected_hash for f in normalise(question, answer))


def answer_key(lesson):
    """The plain answers of a lesson {question id: answer}, or None where answers.py is absent."""
    try:
        answers = importlib.import_module(f"{__package__}.answers")
    except ImportError:
        return None
    return dict(answers.ANSWERS.get(lesson_id(lesson), {}))
