"""Lesson 04 · Meaning as vectors: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "The token embedding table holds one vector per token of the vocabulary. What percentage of all "
                 "the model's dials do you think it takes up? (a number from 0 to 100)"),
    number("p2", "Training put ' king' and ' queen' close together. Guess the cosine similarity of their "
                 "two vectors (a number from -1 to 1; 1 means the very same direction)."),
]

QUESTIONS = [
    number("q1", "A model has a vocabulary of 2,048 tokens and vectors of 256 numbers. How many dials does "
                 "its token embedding table have? (a whole number)",
           tolerance=0,
           hint="One row per token, one dial per number in the row.",
           explanation="2,048 rows x 256 numbers = 524,288 dials."),
    number("q2", "What is the cosine similarity of a = (1, 0) and b = (1, 1)? (two decimals)",
           tolerance=0.01,
           hint="a . b / (|a| |b|): the dot product is 1, the lengths are 1 and sqrt(2).",
           explanation="1 / sqrt(2), about 0.71: the two vectors are 45 degrees apart."),
    choice("q3", "You multiply every number of a vector a by 2. What happens to its cosine similarity with "
                 "another vector b?",
           ["it doubles", "it stays the same", "it halves", "it becomes 1"],
           hint="The cosine depends on the angle between the vectors. Does doubling change the direction?",
           explanation="The dot product doubles and so does the length of a: they cancel. Only the direction counts."),
    choice("q4", "A one-hot vector for token 7 (all zeros, a 1 at position 7) times the embedding table gives:",
           ["the sum of all the rows", "row 7 of the table", "a probability for every token", "a vector of zeros"],
           hint="Multiply it out: which rows get multiplied by 1?",
           explanation="Only row 7 is multiplied by 1; that is why a lookup (indexing) does the same job, faster."),
    choice("q5", "Why does ' bear' get the same vector in 'pursued by a bear' and 'I cannot bear it'?",
           ["the table has one row per token, and the lookup does not see the other words",
            "the model was not trained for long enough",
            "Shakespeare uses 'bear' in one meaning only",
            "the two sentences are too short"],
           hint="What is the input of the embedding lookup: the whole sentence or one token id?",
           explanation="The lookup sees only the id. Telling the meanings apart needs the neighbouring words: "
                       "attention, lesson 05."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "e5c175ca738cce89e276",
    "q2": "5575c68f2fdc6186d955",
    "q3": "aa468dceb02cee22fc30",
    "q4": "2bf1c36c373527722626",
    "q5": "0fe02f232d9c9e9a378b",
}
