"""Lesson 06 · The transformer block: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "Every block adds to the residual stream. After the last block, how many times as long as the "
                 "token's embedding do you think the stream's vector is, on average? (a number)"),
    number("p2", "Of the 30 strongest activations of the best 'a speech starts here' neuron, what percentage do "
                 "you think really are at the start of a speech? (a number from 0 to 100)"),
]

QUESTIONS = [
    number("q1", "Layer norm of x = (1, 2, 3, 6), with weight 1 and bias 0 (leave out the small epsilon). "
                 "What is the first number of the result? (two decimals)",
           tolerance=0.01,
           hint="The mean is 3; the variance is the plain average of the squared deviations (-2, -1, 0, 3).",
           explanation="The variance is 14 / 4 = 3.5, so the first number is -2 / sqrt(3.5), about -1.07."),
    number("q2", "A feed-forward network widens vectors of 256 numbers to 1,024 (`up`) and narrows them back "
                 "to 256 (`down`). How many weights do its two matrices hold, biases not counted? (a whole number)",
           tolerance=0,
           hint="`up` is a 256 x 1,024 matrix, `down` a 1,024 x 256 one.",
           explanation="2 x 256 x 1,024 = 524,288: two thirds of a block's weights sit in its feed-forward network."),
    choice("q3", "In `x = x + attention(ln1(x))`, what does the `x +` do?",
           ["it doubles the stream",
            "it keeps the stream and adds attention's result to it: nothing is overwritten",
            "it normalises the stream",
            "it lets attention look at the future"],
           hint="Section 2: the residual stream is a running sum.",
           explanation="Each sub-layer adds to the stream, so information (and, in training, the gradient) "
                       "travels straight through."),
    choice("q4", "The feed-forward network of a block works on:",
           ["each position on its own", "all the positions of the text mixed together",
            "only the last token", "the attention pattern"],
           hint="Which part of a block moves information between positions?",
           explanation="Attention mixes positions; the feed-forward network then processes each position's vector "
                       "by itself."),
    choice("q5", "Why is the best 'a speech starts here' neuron found deeper in the model, not in the first layer?",
           ["a new line alone does not tell: it needs to know that the line before was a name, context that "
            "attention in the layers below gathered",
            "deeper layers have more neurons",
            "the first block has no feed-forward network",
            "it is chance: any layer would do as well"],
           hint="Most new lines end a line of verse. What must the neuron know about the text before?",
           explanation="The context comes from attention in the layers below; the neuron turns it into one signal."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "20de48c7dc855c22c24c",
    "q2": "75a59f3ee5c929bdb448",
    "q3": "62ce1432a2829b4c1256",
    "q4": "177c3388a7d4950fe172",
    "q5": "df439d6c1e669cb1d174",
}
