"""Lesson 02 · A first language model, counting: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "In Shakespeare, `q` is almost always followed by `u`. After add-one smoothing, what "
                 "percentage does the bigram model give to `u` coming next after `q`? (a number from 0 to 100)"),
    number("p2", "A fair die over all the characters is the uniform model. The transformer reads whole lines "
                 "before it predicts: it is as unsure as a fair choice among how many characters? (a number)"),
]

QUESTIONS = [
    number("q1", "Count the pairs in `to be or not to be`, without smoothing: what probability does the bigram "
                 "model give to `o` coming next after `t`? (a number between 0 and 1, two decimals)",
           tolerance=0.01,
           hint="Find every `t` that has a character after it, and count how many of those are followed by `o`.",
           explanation="`t` is followed by `o` twice and by a space once: 2 / 3."),
    number("q2", "A model gives the character that really came next a probability of 0.25. What is its loss at "
                 "that position? (natural log, two decimals)",
           tolerance=0.01,
           hint="The loss at one position is -log(p). `math.log` is the natural log.",
           explanation="-log(0.25) = log(4), about 1.39."),
    number("q3", "A model's loss is 2.0 (nats per character). It is as unsure as a fair choice among how many "
                 "characters? (one decimal)",
           tolerance=0.05,
           hint="The perplexity undoes the log: exp(loss).",
           explanation="exp(2.0) is about 7.4: like a fair die with seven or eight sides."),
    choice("q4", "Why do we add 1 to every count before turning counts into probabilities?",
           ["to make the table bigger",
            "a pair never seen in training would get probability 0, and if it then comes, the loss is infinite",
            "so that sampling is faster",
            "so that every row adds up to 1"],
           hint="Section 8: what is -log(0)?",
           explanation="Smoothing leaves nothing impossible, only unlikely, so one unseen pair cannot make the "
                       "loss infinite."),
    choice("q5", "You change every character of a prompt except the last one. What happens to the bigram "
                 "model's probabilities for the next character?",
           ["they change completely", "they change a little", "they stay exactly the same"],
           hint="How much of the text does the bigram model look at? Try it in the explorer.",
           explanation="Its memory is one token: only the last character picks the row of the table."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "6ffe6bb4d9155e4fede4",
    "q2": "697005cae0b02abfaa3b",
    "q3": "dbf72f7a9d240af2619a",
    "q4": "fe4ddb3d12f0dd036c13",
    "q5": "337f799b98fa621dd54b",
}
