"""Lesson 11 · Learning from human feedback: predict-first prompts and the exit quiz."""
from .core import choice, number

PREDICTIONS = [
    number("p1", "The reward model trains for a few steps on the labels, then ranks held-out pairs it never saw. "
                 "What percentage will it rank the rater's way? (a number from 0 to 100; 50 is guessing)"),
    choice("p2", "The table above measured style (win rate, rude, rambling). Will the DPO model also answer more "
                 "held-out questions right than chat-sft?",
           ["yes, clearly more (beyond the noise)", "about as many: within the noise", "clearly fewer"]),
    choice("p3", "In the course's full run, both PPO runs raise the reward model's score. Which one ends up pleasing "
                 "the rater (the people the reward model imitates) more?",
           ["the one without a leash", "the one on the KL leash"]),
]

QUESTIONS = [
    number("q1", "The reward model gives the chosen and the rejected answer the same score. What is the "
                 "Bradley-Terry loss of that pair? (two decimals)",
           tolerance=0.01,
           hint="-log sigmoid(r_chosen - r_rejected), and sigmoid(0) = 1/2.",
           explanation="-log(1/2) = ln 2, about 0.69: the loss of a reward model that cannot tell the two apart."),
    number("q2", "By the Bradley-Terry model, with what probability does the chosen answer win when its reward is "
                 "2 higher than the rejected one's? (a number between 0 and 1, two decimals)",
           tolerance=0.01,
           hint="sigmoid(x) = 1 / (1 + exp(-x)).",
           explanation="sigmoid(2) = 1 / (1 + e^-2), about 0.88."),
    number("q3", "DPO with beta = 0.1: the policy makes the chosen answer's log-probability 2 higher than the "
                 "reference model does, and the rejected answer's 3 lower. What is the margin? (a number)",
           tolerance=0.01,
           hint="margin = beta × ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)).",
           explanation="0.1 × (2 - (-3)) = 0.5; the loss is then -log sigmoid(0.5)."),
    choice("q4", "What is the KL penalty (the leash) in PPO for?",
           ["it makes the answers shorter by penalising long ones",
            "it keeps the policy near the SFT model, where the reward model is reliable",
            "it makes each training step faster",
            "it teaches the model facts the reward model knows"],
           hint="Section 9: what did the unleashed policy find?",
           explanation="Far from the SFT model's answers the reward model has blind spots; without the leash the "
                       "policy walks there and games it (reward hacking)."),
    choice("q5", "Which of these can learning from human feedback NOT do?",
           ["make answers politer and less rude",
            "make answers shorter and less rambling",
            "teach a style from a few consistent labels",
            "add knowledge the model lacks (no rater can prefer an answer it never writes)"],
           hint="Section 10: what it can and cannot fix.",
           explanation="It changes which of the answers the model can already write become likely; the facts come "
                       "from pre-training and fine-tuning data."),
]


# Answer hashes, generated from answers.py by `python -m course_lib.quiz --write-hashes`; do not edit.
HASHES = {
    "q1": "950d1907b7d2cf84b2b7",
    "q2": "e6de94ea04fa24805182",
    "q3": "4c5f9022b5f58b7a5292",
    "q4": "6603fd2ba312474c3a93",
    "q5": "62bde081c08224d356c3",
}
