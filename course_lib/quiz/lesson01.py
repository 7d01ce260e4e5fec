"""Lesson 01 · Text to numbers: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    choice("p1", "The tokenizer counts every pair of neighbouring tokens in Shakespeare and merges the most "
                 "frequent pair first. Which pair wins? (· is a space)", ["t + h", "e + ·", "· + t", "h + e"]),
    number("p2", "On average, how many characters of Shakespeare does one token of the model's 2,048-token "
                 "BPE stand for? (a number)"),
]

QUESTIONS = [
    number("q1", "What does `merge([1, 2, 1, 2, 1], (1, 2), 7)` return? Answer with its length: how many ids "
                 "does the new list hold? (a whole number)",
           tolerance=0,
           hint="Read left to right: every `1, 2` becomes one `7`, and the last `1` stays.",
           explanation="It returns [7, 7, 1]: two pairs merged, one id left over."),
    number("q2", "How many bytes does the word `café!` take in UTF-8? (a whole number)",
           tolerance=0,
           hint="An English letter or a `!` takes one byte; an accented letter takes more (section 3). "
                "`len('café!'.encode('utf-8'))` checks it.",
           explanation="c, a, f and ! take one byte each and é takes two: 6 bytes."),
    choice("q3", "The character tokenizer cannot encode an emoji it never saw, but the byte-level BPE can. Why?",
           ["the BPE vocabulary is large enough to hold every emoji",
            "it starts from the 256 bytes, and every text is a list of bytes",
            "it skips characters it does not know",
            "it replaces unknown characters by a question mark"],
           hint="What are the first 256 tokens of a byte-level BPE, and what is every text made of in a computer?",
           explanation="Anything a merge did not cover falls back to its bytes, so decoding gives back the exact text."),
    choice("q4", "You train BPE with more merges (a bigger vocabulary). What happens to the number of tokens "
                 "a given text needs?",
           ["it grows: more tokens to choose from", "it shrinks: each token stands for more characters",
            "it stays the same: merges only rename tokens"],
           hint="Look at section 9's bar chart of characters per token.",
           explanation="Every merge replaces a frequent pair by one token, so the same text needs fewer tokens."),
    choice("q5", "A chat app encodes what the user types with `allow_special=False`. Why?",
           ["it is faster", "special tokens only exist during training",
            "so that typing `<|assistant|>` gives ordinary characters and cannot fake a turn",
            "the user's words have no special characters anyway"],
           hint="Section 10: who should be able to write the real turn markers?",
           explanation="Only the app inserts the real markers; text the user types can never become one."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "e7bfe872e144183474e1",
    "q2": "beb7d14caff1feace168",
    "q3": "1795fe9d88f209c64877",
    "q4": "7cff583776a46b8015ed",
    "q5": "c32ef4468c36b13bc577",
}
