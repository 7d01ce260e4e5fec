"""Lesson 05 · Attention: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "After the mask and the softmax, what percentage of its attention will *creature* put on "
                 "*fluffy*? (a number from 0 to 100)"),
    number("p2", "Some heads of the trained model may have learned to look at the token just before. For the "
                 "head that does it most, what percentage of its attention do you think goes there? "
                 "(a number from 0 to 100)"),
    choice("p3", "' bear' the animal and ' bear' the verb start as the very same vector. After the model's last "
                 "layer, the two are:",
           ["still the same: one token, one vector",
            "less alike than two bears with the same meaning",
            "more alike than two bears with the same meaning"]),
]

QUESTIONS = [
    number("q1", "One query meets three keys (none masked) with scores 2, 0 and 0. After the softmax, what "
                 "weight goes to the first key? (a number between 0 and 1, two decimals)",
           tolerance=0.01,
           hint="softmax: exp(2) / (exp(2) + exp(0) + exp(0)).",
           explanation="exp(2) / (exp(2) + 2), about 0.79: the best match gets most, but not all, of the attention."),
    number("q2", "A text has 10 tokens. Of the 10 x 10 query-key pairs, how many does the causal mask allow? "
                 "(a whole number)",
           tolerance=0,
           hint="Token 1 sees 1 token, token 2 sees 2, ... token 10 sees 10.",
           explanation="1 + 2 + ... + 10 = 55: the diagonal and everything below it."),
    number("q3", "A model has vectors of 512 numbers and 16 heads. Each head works on its slice of the query "
                 "and the key. By what number are its scores divided? (two decimals)",
           tolerance=0.01,
           hint="Each head's slice has 512 / 16 numbers; the scores are divided by the square root of that length.",
           explanation="Slices of 32 numbers, so the scores are divided by sqrt(32), about 5.66."),
    choice("q4", "Why does a language model mask the future in attention?",
           ["it makes the computation faster",
            "a token must not see the tokens after it: in training, the next token is the answer",
            "it keeps the weights from growing",
            "so that every row of the pattern adds up to 1"],
           hint="What is the model trained to predict, and where in the text is that?",
           explanation="Without the mask, every position could read the answer it is asked to predict."),
    choice("q5", "What does a token receive from an attention head?",
           ["the keys of the earlier tokens",
            "a weighted sum of the values of itself and the earlier tokens, weighted by its row of the pattern",
            "the query of the next token",
            "the average of all the vectors of the text"],
           hint="Section 1, the last step: `pattern @ V`.",
           explanation="Its row of the pattern weights the values (the messages); the sum is added to its vector."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "e5cb7c559002c5b4c115",
    "q2": "9645e168939da8131435",
    "q3": "0533f9bd61b07376fa50",
    "q4": "3de1a55a1d4ff9a6abd5",
    "q5": "ff12b9e1dc12870185be",
}
