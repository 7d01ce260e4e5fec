"""Lesson 07 · The whole GPT: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    choice("p1", "MyGPT has just been built with random weights. Asked to continue 'Good morrow, my good', how "
                 "sure will it be of its favourite next token?",
           ["about as sure as the shipped model (the cell above printed its top five)",
            "somewhat sure: around 10% on its favourite",
            "hardly at all: well under 1%, close to a blind guess over the whole vocabulary"]),
    choice("p2", "Which of the five kinds of part holds the most weights in our GPT?",
           ["the token embedding", "the position embedding", "attention", "the feed-forward networks",
            "the layer norms"]),
    number("p3", "Way (b) does exactly the arithmetic of way (a), one position at a time. How many times as long "
                 "as (a) do you think it takes? (a number: 1 means just as long)"),
]

QUESTIONS = [
    number("q1", "The shipped model has 6 blocks of width 256. How many weights would a seventh block of the same "
                 "width add?",
           tolerance=0,
           hint="It is what your block_params of section 6 returns for width 256: the matrices, a bias per output "
                "of every linear layer, and a gain and a shift per channel in each of the two layer norms.",
           explanation="12 × 256² + 13 × 256 = 789,760: the block of section 6's exercise, once more."),
    number("q2", "Our GPT has a vocabulary of 2,048 tokens and width 256. If the vocabulary grew to 4,096 tokens, "
                 "everything else the same, how many more weights would the model have?",
           tolerance=0,
           hint="Which tables have one row per vocabulary token? And does the output layer have weights of its own?",
           explanation="2,048 new rows of 256 numbers in the token table: 524,288. The output layer reuses that "
                       "table (weight tying), so it adds nothing more."),
    choice("q3", "The shipped model reads one text of 11 tokens. What shape do its logits have?",
           ["(1, 2048): scores for the next token only",
            "(1, 11, 2048): a score for every vocabulary token at every position",
            "(1, 11, 256): one vector per position",
            "(11, 2048, 256)"],
           hint="Section 2's 'follow one text through the parts' printed the shapes: (B, T, ...).",
           explanation="(B, T, V): every position predicts its next token; generation uses the last one, "
                       "training uses them all."),
    choice("q4", "In GPT-3 nearly all weights are in the blocks, in ours a noticeably smaller share (section 4 "
                 "printed both). Why?",
           ["GPT-3 has no position embedding",
            "GPT-3 does not tie its output layer to the token table",
            "width enters the blocks squared (C × C matrices) but the embedding tables only once (rows × C)",
            "GPT-3's vocabulary is smaller than ours"],
           hint="How does each part's count grow when the width C doubles?",
           explanation="Double the width and the blocks grow four times, the tables only two times; GPT-3's "
                       "width is 12,288, ours 256."),
    choice("q5", "Why did transformers replace recurrent networks (RNNs) for training on huge amounts of text?",
           ["they do less arithmetic per token than an RNN, so each token is cheaper",
            "they have fewer weights than an RNN of the same width and depth",
            "they read only the last word, so a long text costs nothing extra",
            "all positions go through at once, in big matrix multiplications that parallel hardware runs well"],
           hint="Section 7's race: which way did *more* arithmetic per second, and why?",
           explanation="Our GPT did more arithmetic than the GRU and still finished first: one big job beats many "
                       "small ones in a row, and on a GPU by far more."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "5e5968479fe5e36475dd",
    "q2": "fbf494ff19ecae924d84",
    "q3": "29859bf9bca6f1d74c26",
    "q4": "82f32859a984512ed1a8",
    "q5": "634853f40ad895d7b2ec",
}
