"""Lesson 00 · The prediction machine: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "After the script, the model gives every token it knows a probability. What percentage "
                 "of the total do you think its ten favourite tokens get together? (a number from 0 to 100)"),
    number("p2", "Section 2 printed the favourite token's probability at temperature 1. Halve the temperature "
                 "to 0.5: what percentage do you think the favourite gets now? (a number from 0 to 100)"),
]

QUESTIONS = [
    choice("q1", "What does the model compute in one step, from the text it reads?",
           ["the whole answer, in one go",
            "a probability for every token in its vocabulary: how likely each is to come next",
            "the single best next word, and nothing else",
            "a score saying how good the text so far is"],
           hint="Look at section 2: what did `next_token_distribution` return, and how many numbers?",
           explanation="One step gives a probability for every token; writing an answer is that step in a loop."),
    number("q2", "A model knows only two tokens, with scores (logits) 2.0 and 0.0. At temperature 1, what "
                 "probability does the softmax give the first? (a number between 0 and 1, two decimals)",
           tolerance=0.01,
           hint="softmax: exp(2) / (exp(2) + exp(0)). `math.exp` or `torch.tensor([2.0, 0.0]).softmax(0)` computes it.",
           explanation="exp(2) / (exp(2) + 1) is about 0.88."),
    number("q3", "The same two scores, 2.0 and 0.0, at temperature 2. What probability does the first get now? "
                 "(two decimals)",
           tolerance=0.01,
           hint="Temperature divides the scores first: softmax of (2 / 2, 0 / 2).",
           explanation="The scores become (1, 0), and exp(1) / (exp(1) + 1) is about 0.73: a higher temperature "
                       "evens the chances out."),
    choice("q4", "You run `generate` twice on the same prompt, both times with temperature 0.8 and seed 7. "
                 "What do you get?",
           ["the same answer twice", "two different answers", "an error: a seed cannot be used twice"],
           hint="What does the seed fix? Section 5 says.",
           explanation="The seed fixes the dice, so the same seed gives the same tokens; chat apps use fresh "
                       "dice, which is why asking twice gives two answers."),
    choice("q5", "Why does the model go on writing after the assistant's answer (new speakers, a new scene)?",
           ["its temperature is too high", "the model is broken",
            "nothing told it the turn is over: it simply continues the play",
            "it ran out of tokens to say"],
           hint="Section 1: what has this model read, and what comes after a speech in a play?",
           explanation="It completes a script; a chat app cuts the text where the assistant's turn ends."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "39bcecd1fba621dd8fd8",
    "q2": "5dbba10cb97bf78b1dba",
    "q3": "a4a82c5192fb1565469d",
    "q4": "653e34db95fe74eeddfa",
    "q5": "f4b83fcfafe58df5da64",
}
