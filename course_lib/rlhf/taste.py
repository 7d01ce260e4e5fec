"""Your taste, learned: label ~20 pairs with a consistent preference, train on those labels alone.

Lesson 11's "labels that count". A trait is something a rater can check in an answer
without judging its content: a question back to the user, an exclamation, a short
answer. For each trait there is a detector (`has_trait`) and a rewrite that gives an
answer the trait or takes it away (`with_trait`, `without_trait`), so a pair can differ
in the trait and nothing else (`candidate_pairs`). A learner labels such pairs in the
preference widget (`TasteWidget`), or the simulated learner does it for them
(`simulated_learner`), and `train_on_my_labels` runs DPO from the SFT model on those
labels only, small enough for a laptop CPU (well under a minute). `trait_rates` measures
how often the model's answers to held-out questions have each trait, before and after.

    >>> pairs = candidate_pairs(sft_model, tok, "question", n=20)
    >>> labels = simulated_learner(pairs, "question")          # or the widget's clicks
    >>> policy, log = train_on_my_labels(sft_model, tok, labels)
    >>> trait_rates(policy, tok, heldout_messages())           # {"question": ..., ...}

bench/my_labels_bench.py simulates such a learner for every trait (figures in
bench/RESULTS.md, "Labels that count").
"""
from __future__ import annotations

import copy
import random
import re

from ..chat import answer_many, load_dialogues
from .preferences import make_preference
from .rater import words

# =======================================================================================
# The traits: a detector and two rewrites each
# =======================================================================================

SHORT_WORDS = 6  # an answer is "short" when it has at most this many words

TRAITS = {
    "question": "ends with a question back to the user",
    "exclaim": "ends with an exclamation mark",
    "short": f"has at most {SHORT_WORDS} words",
}

FOLLOW_UPS = ("Shall I tell you more?", "What else would you like to know?", "Does that help you?",
              "Is there anything else you wish to ask?", "Would you like another?")
ASIDES = ("And I must say, that is a thing I think about often, on long evenings.",
          "I remember my teacher saying so, many years ago, in the old school by the river.",
          "That is how it has always been, as far as anyone in my family can remember.",
          "People have said so for a long time, and they will say it for a long time yet.")


def check_trait(trait: str) -> str:
    if trait not in TRAITS:
        raise ValueError(f"unknown trait {trait!r}; the traits are {sorted(TRAITS)}")
    return trait


def has_trait(trait: str, answer: str) -> bool:
    """Does the answer have the trait? (the detector: plain rules, no model)"""
    check_trait(trait)
    text = answer.strip()
    if not words(text):
        return False
    if trait == "question":
        return text.endswith("?")
    if trait == "exclaim":
        return text.endswith("!")
    return len(words(text)) <= SHORT_WORDS


def trait_rate(trait: str, answers: list) -> float:
    """The share of answers with the trait."""
    if not answers:
        raise ValueError("no answers to measure")
    return sum(has_trait(trait, a) for a in answers) / len(answers)


def sentences(text: str) -> list:
    """The sentences of a text, each with its closing punctuation."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _close(sentence: str, mark: str) -> str:
    return sentence.rstrip(".!?,;: ") + mark


def without_trait(trait: str, answer: str) -> str:
    """The answer with the trait taken away (as little changed as possible)."""
    check_trait(trait)
    parts = sentences(answer)
    if not parts:
        return answer.strip()
    if trait == "question":  # drop the questions; if nothing is left, make the last one a statement
        kept = [s for s in parts if not s.endswith("?")]
        return " ".join(kept) if kept else _close(parts[-1], ".")
    if trait == "exclaim":
        return " ".join(_close(s, ".") if s.endswith("!") else s for s in parts)
    first = parts[0] if parts[0][-1] in ".!?" else _close(parts[0], ".")
    return f"{first} {ASIDES[len(answer) % len(ASIDES)]}"  # "short" taken away: an aside added


def with_trait(trait: str, answer: str, rng: random.Random | None = None) -> str:
    """The answer given the trait (as little changed as possible)."""
    check_trait(trait)
    rng = rng or random.Random(0)
    plain = without_trait(trait, answer) if trait != "short" else answer.strip()
    parts = sentences(plain)
    if not parts:
        return plain
    if parts[-1][-1] not in ".!?":  # an answer cut off by the length limit: close its last sentence
        parts[-1] = _close(parts[-1], ".")
    if trait == "question":
        return f"{' '.join(parts)} {rng.choice(FOLLOW_UPS)}"
    if trait == "exclaim":
        return " ".join(_close(s, "!") if i == len(parts) - 1 or s.endswith(".") else s
                        for i, s in enumerate(parts))
    return parts[0] if parts[0][-1] in ".!?" else _close(parts[0], ".")  # the first sentence alone


# =======================================================================================
# Pairs to label, and a learner who labels them
# =======================================================================================

def practice_prompts(n: int = 200, seed: int = 0) -> list:
    """Distinct user messages of the training dialogues, shuffled: what the pairs ask."""
    seen = dict.fromkeys(turn["content"] for record in load_dialogues("train")
                         for turn in record["messages"] if turn["role"] == "user")
    prompts = list(seen)
    random.Random(seed).shuffle(prompts)
    return prompts[:n]


def heldout_messages() -> list:
    """The held-out questions' messages (never in the training dialogues): where a trait is measured."""
    return [r["prompt"] for r in load_dialogues("heldout")]


def candidate_pairs(model, tokenizer, trait: str, prompts: list | None = None, n: int = 20, seed: int = 0,
                    temperature: float = 0.7, max_new_tokens: int = 64) -> list:
    """n pairs {"prompt", "a", "b", "trait"} to label: an answer of the model, once with the
    trait and once without (so the two differ in the trait and little else), in random order."""
    check_trait(trait)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (pairs) must be a whole number >= 1, not {n!r}")
    prompts = list(prompts) if prompts is not None else practice_prompts(max(4 * n, 40), seed)
    rng = random.Random(seed)
    pairs = []
    for start in range(0, len(prompts), n):
        chunk = prompts[start:start + n]
        for prompt, answer in zip(chunk, answer_many(model, tokenizer, chunk, temperature=temperature,
                                                     seed=seed + start, max_new_tokens=max_new_tokens)):
            yes, no = with_trait(trait, answer, rng), without_trait(trait, answer)
            if not words(yes) or not words(no) or _preferred(trait, yes, no) is None:
                continue  # the rewrite could not make them differ (e.g. an empty answer)
            a, b = (yes, no) if rng.random() < 0.5 else (no, yes)
            pairs.append({"prompt": prompt, "a": a, "b": b, "trait": trait})
            if len(pairs) == n:
                return pairs
    return pairs


def _preferred(trait: str, a: str, b: str):
    """"a" or "b", whichever has more of the trait (for "short": fewer words), else None."""
    if trait == "short":
        na, nb = len(words(a)), len(words(b))
        return None if na == nb else ("a" if na < nb else "b")
    a_has, b_has = has_trait(trait, a), has_trait(trait, b)
    return None if a_has == b_has else ("a" if a_has else "b")


def simulated_learner(pairs: list, trait: str, likes: bool = True) -> list:
    """Preference records as a learner with one consistent taste would click them: the answer
    with the trait (for "short": the one with fewer words; likes=False: the other one); a tie
    when the two do not differ in it."""
    check_trait(trait)
    records = []
    for p in pairs:
        better = _preferred(trait, p["a"], p["b"])
        tie = better is None
        a_wins = (better == "a") == likes
        chosen, rejected = (p["a"], p["b"]) if (tie or a_wins) else (p["b"], p["a"])
        reason = f"simulated learner who {'likes' if likes else 'dislikes'} the trait {trait!r} ({TRAITS[trait]})"
        records.append(make_preference(p["prompt"], chosen, rejected, "simulated", tie=tie, reason=reason))
    return records


# =======================================================================================
# Train on my labels alone, and measure
# =======================================================================================

MY_LABELS_SETTINGS = {"steps": 20, "batch_size": 8, "lr": 3e-4, "beta": 0.1, "sft_weight": 1.0, "train_blocks": 2}


def train_on_my_labels(sft_model, tokenizer, labels: list, progress: bool = False, **settings) -> tuple:
    """DPO from a copy of `sft_model` (the reference, left unchanged) on `labels` alone.

    Small settings for a laptop CPU (`MY_LABELS_SETTINGS`; keywords override them, e.g.
    steps=10): with ~20 labels each is seen about a dozen times. Returns (policy, log)."""
    from .dpo_training import dpo

    labels = [r for r in labels if not r.get("tie")]
    if not labels:
        raise ValueError("no labels to learn from (ties and skips do not count): label a few pairs first")
    policy = copy.deepcopy(sft_model)
    log = dpo(policy, sft_model, tokenizer, labels, progress=progress, **{**MY_LABELS_SETTINGS, **settings})
    return policy, log


def trait_rates(model, tokenizer, prompts: list, traits=None, samples: int = 1, temperature: float = 0.7,
                seed: int = 0, max_new_tokens: int = 64) -> tuple:
    """How often the model's answers to `prompts` have each trait: ({trait: share}, answers)."""
    traits = list(TRAITS) if traits is None else [check_trait(t) for t in traits]
    answers = []
    for k in range(samples):
        answers += answer_many(model, tokenizer, prompts, temperature=temperature, seed=seed + 7919 * k,
                               max_new_tokens=max_new_tokens)
    return {t: trait_rate(t, answers) for t in traits}, answers
