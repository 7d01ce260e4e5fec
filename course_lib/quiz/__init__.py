"""Quizzes: predict-first prompts and each lesson's exit quiz, checked like the exercises.

In a lesson:

    from course_lib import quiz

    guess = None  # your guess, e.g. "b" (or use the buttons)
    quiz.predict("00", "p1", guess)       # commit to a guess before the next cell runs
    ...                                   # the cell that computes the answer
    quiz.reveal("00", "p1", n_different)  # the answer next to the guess

    quiz.show("00")                       # the exit quiz's questions
    my_answers = {"q1": None, "q2": None}
    score = quiz.check("00", my_answers)

Questions live in `course_lib/quiz/lessonNN.py` (with hashes of the right answers); the
plain answers only in `answers.py`, which the student edition leaves out. `core` explains
the hashing; `hashes` (CLI `python -m course_lib.quiz --write-hashes`) keeps them in step.
"""
from .checking import answer_cell, check, instructor_cell, show
from .core import Question, choice, number, prediction, questions
from .prompts import Prediction, guess_of, predict, reveal

__all__ = ["Prediction", "Question", "answer_cell", "check", "choice", "guess_of", "instructor_cell", "number", "predict",
           "prediction", "questions", "reveal", "show"]
