"""Lesson 09 · Scale: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "Llama 3.1 trained on 15.6 trillion tokens. Read the same way as GPT-3's dataset above (non-stop, "
                 "250 words a minute), how many years would those tokens take? (a number)"),
    choice("p2", "And all of Shakespeare's plays, our corpus, read the same way?",
           ["hours", "days", "months", "years"]),
    choice("p3", "Training GPT-3 on a computer that does one billion operations a second takes about ...",
           ["10 years", "10 thousand years", "10 million years", "10 billion years"]),
]

QUESTIONS = [
    number("q1", "By the 6ND rule, how many operations does it take to train a model of 1 billion parameters on "
                 "20 billion tokens? (a number; 3e15 is how Python writes 3 × 10^15)",
           tolerance=1e18,
           hint="6 × N × D, with N = 1e9 and D = 20e9.",
           explanation="6 × 1e9 × 2e10 = 1.2 × 10^20 operations."),
    number("q2", "How many years does a person need to read 1 billion tokens, non-stop, at 0.75 words per token and "
                 "250 words a minute? (two decimals)",
           tolerance=0.01,
           hint="tokens × words per token ÷ words per minute ÷ (24 × 60 minutes a day) ÷ 365.",
           explanation="750 million words, 3 million minutes, about 2,083 days: 5.71 years."),
    number("q3", "Our reader cuts down from 24 hours a day to 8. How many times as many years does the same text "
                 "now take?",
           tolerance=0,
           hint="The reading speed stays the same; only the minutes per day change.",
           explanation="A third of the minutes per day, so three times the years (section 2 printed both)."),
    choice("q4", "Where does the 6 in 6 × N × D come from?",
           ["a transformer block has six parts, each costing one operation per weight",
            "GPT-3 trained for six passes over its dataset",
            "forward: a multiply and an add per weight per token (2); backward: about twice that (4)",
            "each weight is stored in six bytes during training"],
           hint="Section 3: count the operations per weight per token, forward and backward.",
           explanation="2 forward + 4 backward (a gradient for the weight, one passed back to the layer before)."),
    choice("q5", "At a billion operations a second GPT-3 would take millions of years, yet it was trained in months. "
                 "What makes the difference?",
           ["the 6ND rule overestimates the work about a million times",
            "thousands of GPUs, each far faster than a CPU at matrix arithmetic, kept busy by the all-at-once design",
            "GPT-3 skipped most of its training tokens to save time",
            "training used only the forward pass, not the backward one"],
           hint="Section 8: one GPU against this CPU, then many GPUs together.",
           explanation="One GPU does dense matrix arithmetic thousands of times as fast as this CPU (section 8 "
                       "printed the ratio), a thousand of them work side by side, and the transformer's "
                       "one-pass design keeps them busy."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "f5196333ced96cdc4ecc",
    "q2": "0e00929ce76863fee8cf",
    "q3": "69acf78397713b0aa278",
    "q4": "5be8baf8854dbd099f12",
    "q5": "40faf5fb216406104ea5",
}
