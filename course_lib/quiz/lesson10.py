"""Lesson 10 · From autocomplete to assistant: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "chat-sft answers in the right form. On held-out questions with one right answer (none of them in "
                 "its training dialogues), what percentage will the strict scorer mark right? (a number from 0 to 100)"),
    number("p2", "The next cell repeats our three exchanges eight times and adds one more question: far more than "
                 "fits. The context holds 256 tokens, 64 of them kept for the answer. How many turns do you think the "
                 "model actually reads? (a whole number)"),
    choice("p3", "We swap the course's system line for 'a rude AI assistant' (and a pirate, and none at all). With "
                 "the rude line, how many of the answers change?",
           ["few or none", "about half", "nearly all"]),
]

QUESTIONS = [
    choice("q1", "A script has token ids [5, 9, 2, 7] and the mask [0, 0, 1, 1] (the last two tokens are the "
                 "assistant's). What does loss_targets return?",
           ["[9, 2, 7]", "[-100, -100, 2, 7]", "[-100, 2, 7]", "[2, 7]"],
           hint="One target per token but the last: position i holds the *next* token, ids[i + 1], where mask[i + 1] "
                "is 1, else -100.",
           explanation="Position 0 predicts 9, which is not the assistant's (-100); positions 1 and 2 predict 2 and 7."),
    choice("q2", "You chat with chat-sft for three turns. What changes inside the model between its answers?",
           ["its weights are updated with what you said",
            "nothing: it reads the whole script again, which has grown",
            "it stores a summary of the conversation in a memory",
            "it keeps a hidden list of the facts you told it"],
           hint="Section 7: watch how many tokens the model reads before each answer.",
           explanation="The 'memory' is the script: it is read again in full for every answer, and what no longer "
                       "fits the context is gone."),
    choice("q3", "What did supervised fine-tuning teach chat-sft most reliably?",
           ["the right facts for new questions, such as new sums",
            "to add numbers of any size correctly",
            "to refuse every question it is unsure about",
            "the form of an answer ('... plus ... is ...'), more than the facts"],
           hint="Section 5: compare the 'seen in training' and 'held out' columns.",
           explanation="Held-out accuracy is low even where the form is perfect: the shape came from the "
                       "dialogues, the facts only where the data or a simple rule carries them."),
    choice("q4", "Why does chat-sft stop when its answer is done?",
           ["it was graded on writing <|end|> after each answer, and `chat` stops there",
            "it runs out of things to say after one sentence",
            "the context window is full by then",
            "a length limit always cuts it at the end of a sentence"],
           hint="Section 6: the same model with and without the stop token.",
           explanation="It learned to write <|end|> when an answer is complete; without a stop, it writes on."),
    choice("q5", "A new persona in the system line ('a pirate') changed few of chat-sft's answers. Why?",
           ["the system line is never part of the script the model reads",
            "`chat` removes a new system line before the model reads it",
            "all its training scripts had the same system line: it learned the line is there, not what it says",
            "pirates speak like Shakespeare, so little changed"],
           hint="Section 8: what happened when the line was taken away instead?",
           explanation="Large assistants follow system prompts because they were fine-tuned on many different "
                       "ones, with answers that obey them."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "fce222cff24a94039c32",
    "q2": "8f8d4e53744c8084b9aa",
    "q3": "bedd2545ed6fefe49fce",
    "q4": "9885a809524ac5fd68dd",
    "q5": "97aa2b2a44fdaa05f554",
}
