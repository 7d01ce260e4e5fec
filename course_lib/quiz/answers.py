"""The plain answer key of every lesson's exit quiz: {lesson: {question id: right answer}}.

Only this module holds the answers; the student edition leaves it out, and the lesson
modules carry hashes of them instead. After changing an answer here, run

    python -m course_lib.quiz --write-hashes

A multiple-choice answer is its letter ("b"); a number is the exact value (the question's
tolerance says how close a learner must come).
"""
import math

ANSWERS = {
    "00": {
        "q1": "b",
        "q2": math.exp(2) / (math.exp(2) + 1),  # softmax of scores (2, 0) at T = 1
        "q3": math.exp(1) / (math.exp(1) + 1),  # ... at T = 2: scores (1, 0)
        "q4": "a",
        "q5": "c",
    },
    "01": {
        "q1": 3,  # [7, 7, 1]
        "q2": len("café!".encode("utf-8")),  # 6
        "q3": "b",
        "q4": "b",
        "q5": "c",
    },
    # Lessons 07-12: their answers go below, one entry per lesson.
}
