"""Lesson 03 · Learning from examples: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", 'The letters "th" appear thousands of times in Shakespeare. What percentage of them do you '
                 'think are followed by "e"? (a number from 0 to 100)'),
    choice("p2", "A table of random dials (scores drawn at random) predicts the next character. Its loss, "
                 "compared with guessing every character equally often, is:",
           ["lower than uniform guessing", "about the same", "higher than uniform guessing"]),
]

QUESTIONS = [
    number("q1", "A model gives the true next token a probability of 0.5 on one example and 0.125 on another. "
                 "What is its loss on the two examples? (natural log, two decimals)",
           tolerance=0.01,
           hint="The loss is the average surprise: the mean of -log(p) over the examples.",
           explanation="(-log 0.5 - log 0.125) / 2 = (0.69 + 2.08) / 2, about 1.39."),
    number("q2", "Gradient descent, learning rate 0.5. The dial is at w = 2 and the slope of the loss there is "
                 "dL/dw = 3. Where is the dial after one step? (a number)",
           tolerance=0.01,
           hint="One step: w = w - lr * slope.",
           explanation="2 - 0.5 x 3 = 0.5: a step against the slope, downhill."),
    number("q3", 'The one-dial model predicts P("e" after "th") = sigmoid(w), and its slope is sigmoid(w) - f. '
                 "If the corpus had f = 0.25, at which w would the slope be zero, the bottom of the curve? "
                 "(two decimals)",
           tolerance=0.01,
           hint="Solve sigmoid(w) = 0.25: sigmoid(w) = 1 / (1 + exp(-w)), so w = log(f / (1 - f)).",
           explanation="w = log(0.25 / 0.75) = log(1/3), about -1.10: there the model's probability is exactly "
                       "the counted fraction."),
    choice("q4", "What does `loss.backward()` do?",
           ["it takes one step downhill",
            "it finds the slope of the loss for every dial, by the chain rule from the loss back to the dials",
            "it undoes the last training step",
            "it sets every gradient to zero"],
           hint="After it runs, where do the slopes appear? Which line then moves the dials?",
           explanation="backward() is backpropagation: it fills `.grad` of every dial; the step itself is "
                       "`W -= lr * W.grad` (or `optimizer.step()`)."),
    choice("q5", "In the descent explorer, the learning rate is raised from 3 to 10. What happens?",
           ["the dial reaches the bottom in fewer steps",
            "the steps overshoot: the dial jumps from side to side of the bottom and the loss stops falling",
            "nothing: the learning rate only changes the speed of the computer"],
           hint="Try it with the sliders in section 2.",
           explanation="Too big a step jumps over the valley; at 10 the dial swings back and forth and never "
                       "settles, and a larger rate makes it worse."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "e99877226467ae752b37",
    "q2": "96ecc232661bbb73941e",
    "q3": "920a606b68b50da3e41b",
    "q4": "8091d10bded25312b545",
    "q5": "b6fcebf30bb1a447ad41",
}
