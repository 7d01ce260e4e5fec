"""Lesson 12 · Looking inside: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    choice("p1", "The logit lens reads a prediction after every block. Measured on text the model never trained on, "
                 "how does the lens's loss change from block 0 to the last block?",
           ["it stays near a blind guess until the last block, then drops", "it falls from block to block",
            "it is lowest in a middle block"]),
    choice("p2", "We switch parts off one at a time and measure the loss. Which costs the most?",
           ["the single most important attention head", "all the attention of one block",
            "the feed-forward network of one block"]),
    choice("p3", "shakespeare-bpe reads a passage of real text twice. Will the second reading be easier for it than "
                 "the same text simply continuing?",
           ["yes, much easier: it copies what it read", "a little easier",
            "no easier: it does not copy"]),
]

QUESTIONS = [
    choice("q1", "Why must the logit lens normalise each block's vectors with their own mean and variance?",
           ["each block has its own final layer norm, with different weights",
            "the stream grows from block to block: the last block's statistics shrink early vectors too much",
            "the output layer is different for every block",
            "it makes no difference: any statistics give the same logits"],
           hint="Section 1 compared the right lens with the buggy one: how long is the stream after each block?",
           explanation="The stream's length grows several times over the blocks; each layer needs its own scale."),
    number("q2", "A text is 24 random tokens followed by the same 24 again (positions 0 to 47). The token at position "
                 "30 repeats the one at position 6. Which position does an induction head attend to from position 30?",
           tolerance=0,
           hint="'I saw A then B before; now A is here again, so B comes next.' Where is B?",
           explanation="The token after the earlier occurrence: 30 - 24 + 1 = 7."),
    choice("q3", "Switching off a neuron (or a head) hardly changes the loss. What can you conclude?",
           ["it is useless and can safely be deleted",
            "it must be the most important part of the model",
            "not that it is unused: other parts may make up for it",
            "the ablation must have been done wrong"],
           hint="Section 2: what did the speech-start neurons do where speeches start, and everywhere else?",
           explanation="The work is spread out and backed up; 'no effect' is not 'not used'."),
    choice("q4", "Large language models have induction heads; our shipped models barely copy. Why?",
           ["their text rarely repeats within the context, and memorising the plays paid more",
            "they have too few blocks: copying needs dozens",
            "copying can only be learned on a GPU",
            "their attention cannot look back at earlier tokens"],
           hint="Section 6: when does copying pay, and how often did the models read the same plays?",
           explanation="Whether a skill appears depends on the data, not only on the architecture: our small "
                       "two-block model learned to copy when its data repeated."),
    number("q5", "The shipped GPT has 6 blocks of width 256, and each feed-forward network widens to 4 × the width. "
                 "How many feed-forward neurons does it have in all?",
           tolerance=0,
           hint="Neurons per block: the feed-forward network's hidden width.",
           explanation="6 × 4 × 256 = 6,144 neurons, of which the lesson tested a handful: most stay unexplained."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "5104b9813a887cd06558",
    "q2": "55f2dbc32c409a09c1d3",
    "q3": "dfc5704c124902967461",
    "q4": "1a16c50aad713222095e",
    "q5": "8ea7cfa596b5b151d620",
}
