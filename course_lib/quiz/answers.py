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
    "02": {
        "q1": 2 / 3,  # after t: o, o and a space
        "q2": -math.log(0.25),
        "q3": math.exp(2.0),
        "q4": "b",
        "q5": "c",
    },
    "03": {
        "q1": (-math.log(0.5) - math.log(0.125)) / 2,
        "q2": 2 - 0.5 * 3,
        "q3": math.log(0.25 / 0.75),
        "q4": "b",
        "q5": "b",  # at lr = 10 the loss alternates between about 1.00 and 1.06 (bottom 0.69), checked by running descend
    },
    "04": {
        "q1": 2048 * 256,
        "q2": 1 / math.sqrt(2),
        "q3": "b",
        "q4": "b",
        "q5": "a",
    },
    "05": {
        "q1": math.exp(2) / (math.exp(2) + 2),
        "q2": 10 * 11 // 2,
        "q3": math.sqrt(512 / 16),
        "q4": "b",
        "q5": "b",
    },
    "06": {
        "q1": -2 / math.sqrt(3.5),  # mean 3, variance (4 + 1 + 0 + 9) / 4
        "q2": 2 * 256 * 1024,
        "q3": "b",
        "q4": "a",
        "q5": "a",
    },
    # Lessons 07-12: their answers go below, one entry per lesson.
    "07": {
        "q1": 12 * 256**2 + 13 * 256,  # one block of width 256 (lesson 07's formula): 789,760
        "q2": 2048 * 256,  # 2,048 more rows of the (tied) token table
        "q3": "b",
        "q4": "c",
        "q5": "d",
    },
    "08": {
        "q1": 32 * 32,
        "q2": math.log(88),  # the character tokenizer's 88 tokens
        "q3": 0.0006 + 0.5 * (1 + math.cos(math.pi * 0.5)) * (0.006 - 0.0006),  # progress (625 - 50) / 1150 = 0.5
        "q4": "b",
        "q5": "c",
    },
    "09": {
        "q1": 6 * 1e9 * 20e9,
        "q2": 1e9 * 0.75 / 250 / (24 * 60) / 365,
        "q3": 3,
        "q4": "c",
        "q5": "b",
    },
    "10": {
        "q1": "c",
        "q2": "b",
        "q3": "d",
        "q4": "a",
        "q5": "c",
    },
    "11": {
        "q1": math.log(2),  # -log sigmoid(0)
        "q2": 1 / (1 + math.exp(-2)),  # sigmoid(2)
        "q3": 0.1 * (2 - (-3)),
        "q4": "b",
        "q5": "d",
    },
    "12": {
        "q1": "b",
        "q2": 30 - 24 + 1,  # the token after the earlier occurrence
        "q3": "c",
        "q4": "a",
        "q5": 6 * 4 * 256,
    },
}
