"""Lesson 08 · Pre-training: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "The model has random weights and has not trained a single step. What validation loss will it "
                 "have, in nats? (a number)"),
    choice("p2", "After one backward pass on one batch, how many of the model's weights get a non-zero gradient "
                 "(a nudge)?",
           ["only the output layer's", "about half of them", "all of them"]),
    choice("p3", "shakespeare-bpe read its training split dozens of times over (the cell counts the passes). At "
                 "the end of its training, which loss was lower?",
           ["the training loss", "neither: they were about equal", "the validation loss"]),
]

QUESTIONS = [
    number("q1", "One batch holds 32 windows of 32 tokens each. How many next-token predictions does the loss of "
                 "that batch average?",
           tolerance=0,
           hint="Every position of every window predicts the token after it.",
           explanation="32 × 32 = 1,024 predictions, all from one forward pass (section 3 printed the same count)."),
    number("q2", "A model that spreads its bets evenly over a vocabulary of 88 tokens: what is its loss, in nats? "
                 "(two decimals)",
           tolerance=0.01,
           hint="It gives the true next token probability 1/88; the loss is -log of that (natural log: `math.log`).",
           explanation="ln 88 is about 4.48: the blind-guess line of the loss chart, where our untrained model started."),
    number("q3", "Our run's schedule: max_lr 0.006, min_lr 0.0006, warmup_steps 50, max_steps 1200. What is the "
                 "learning rate at step 625, exactly halfway through the cosine? (a number such as 0.001)",
           tolerance=0.00005,
           hint="At progress 0.5 the factor (1 + cos(π × progress)) / 2 is easy to work out; the rate is then "
                "min_lr + factor × (max_lr - min_lr).",
           explanation="cos(π/2) = 0, so the factor is 1/2: 0.0006 + 0.5 × 0.0054 = 0.0033, halfway between the two."),
    choice("q4", "After many passes over the same text, shakespeare-bpe's training loss ended well below its "
                 "validation loss. What does that say?",
           ["the validation text is harder Shakespeare",
            "it has partly memorised its training text: it does better on passages it has seen than on new ones",
            "the model is broken and should not be used",
            "its learning rate was too low"],
           hint="The model trained on one of the two texts over and over, and never on the other.",
           explanation="A gap between the two losses is memorising; the validation loss is the number that "
                       "counts for new text, and more text (or fewer passes) is the cure."),
    choice("q5", "Besides the weights, what must a checkpoint hold so that a stopped run continues exactly as if it "
                 "had never stopped?",
           ["nothing else: the weights alone decide every later step",
            "the history of every loss and sample so far",
            "the optimiser's memory, the step, the random number generators and the position in the data",
            "a copy of the training and validation text"],
           hint="Section 6 lists what train_state.pt holds. What would change if AdamW forgot its history?",
           explanation="AdamW's per-weight history, the schedule's step and the dice all shape the next step; "
                       "with them, the resumed run takes the very steps the first one would have taken."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "bd913a62d04e24e2815b",
    "q2": "e7421fe5b47f8215d5ce",
    "q3": "d1b2ace2ed240065be7e",
    "q4": "24aafb040ba8cfcb64dc",
    "q5": "fd206fa9b3a76153f00d",
}
