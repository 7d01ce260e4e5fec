"""Learning from feedback: preferences, a simulated rater, a reward model, PPO and DPO.

The path of lesson 11, one section each:

1. **Preferences.** A prompt, two answers, and which one a person liked better:
   `{"prompt", "chosen", "rejected", "source": "human" | "simulated"}`, one JSON object a
   line, appended atomically (`save_preference`, `load_preferences`).
2. **The simulated rater.** A transparent stand-in for a person: a few written rules
   (correct beats wrong, polite beats rude, concise beats rambling, on-topic beats
   off-topic) that give an answer a score and say why (`rate`, `compare`).
3. **The reward model.** The transformer with a scalar head, trained so that
   r(chosen) > r(rejected) (Bradley-Terry loss); it learns to imitate the labels.
4. **PPO.** Sample answers, score them with the reward model, subtract a penalty for
   drifting away from the SFT model (the KL "leash"), and nudge the policy toward the
   answers that scored above what its value head expected.
5. **DPO.** The shortcut: train the policy on the preference pairs directly, no reward
   model and no sampling.
6. **Evaluation** with the rater, not the reward model: win rate against the SFT model
   and accuracy on held-out questions. And the reward-hacking demonstration: with no
   leash, the policy finds answers the reward model loves and the rater does not.

Command line (the defaults are the shipped models' recipes; data/README.md has the exact
commands, seeds included, that made each committed file):
    python -m course_lib.rlhf ppo  --sft data/checkpoints/chat-sft --out runs/my-ppo --save-rm runs/chat-rm
    python -m course_lib.rlhf dpo  --sft data/checkpoints/chat-sft --out runs/my-dpo
    python -m course_lib.rlhf eval --sft data/checkpoints/chat-sft --models data/checkpoints/chat-ppo data/checkpoints/chat-dpo
    python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm
"""
from __future__ import annotations

import contextlib
import copy
import json
import random
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import chat as chat_lib
from . import paths
from .fileio import append_line_atomic, atomic_write_text

# =======================================================================================
# The answer key: what the rater knows (the dialogue generator uses the same tables)
# =======================================================================================

AUTHOR = "William Shakespeare"
OTHER_AUTHORS = ("Christopher Marlowe", "Ben Jonson", "John Milton", "Geoffrey Chaucer")

# Which play a character belongs to (only characters who appear in exactly one play).
CHARACTERS = {
    "Romeo": "Romeo and Juliet", "Juliet": "Romeo and Juliet", "Mercutio": "Romeo and Juliet",
    "Tybalt": "Romeo and Juliet",
    "Hamlet": "Hamlet", "Ophelia": "Hamlet", "Polonius": "Hamlet", "Horatio": "Hamlet",
    "Laertes": "Hamlet",
    "Macbeth": "Macbeth", "Banquo": "Macbeth", "Macduff": "Macbeth",
    "Othello": "Othello", "Desdemona": "Othello", "Iago": "Othello",
    "Lear": "King Lear", "Cordelia": "King Lear", "Goneril": "King Lear", "Regan": "King Lear",
    "Prospero": "The Tempest", "Miranda": "The Tempest", "Ariel": "The Tempest",
    "Caliban": "The Tempest",
    "Puck": "A Midsummer Night's Dream", "Oberon": "A Midsummer Night's Dream",
    "Titania": "A Midsummer Night's Dream", "Bottom": "A Midsummer Night's Dream",
    "Shylock": "The Merchant of Venice", "Portia": "The Merchant of Venice",
    "Bassanio": "The Merchant of Venice",
    "Viola": "Twelfth Night", "Malvolio": "Twelfth Night", "Orsino": "Twelfth Night",
    "Rosalind": "As You Like It", "Orlando": "As You Like It", "Touchstone": "As You Like It",
    "Brutus": "Julius Caesar", "Cassius": "Julius Caesar",
    "Beatrice": "Much Ado About Nothing", "Benedick": "Much Ado About Nothing",
    "Petruchio": "The Taming of the Shrew", "Katherina": "The Taming of the Shrew",
    "Antony": "Antony and Cleopatra", "Cleopatra": "Antony and Cleopatra",
    "Leontes": "The Winter's Tale", "Perdita": "The Winter's Tale",
    "Coriolanus": "Coriolanus", "Timon": "Timon of Athens", "Titus": "Titus Andronicus",
    "Pericles": "Pericles", "Imogen": "Cymbeline",
    "Troilus": "Troilus and Cressida", "Cressida": "Troilus and Cressida",
    "Proteus": "Two Gentlemen of Verona", "Valentine": "Two Gentlemen of Verona",
    "Isabella": "Measure for Measure", "Angelo": "Measure for Measure",
}

# Plays asked about in "Who wrote ...?" questions (common short titles).
PLAY_TITLES = (
    "Hamlet", "Macbeth", "Othello", "King Lear", "Romeo and Juliet", "The Tempest",
    "A Midsummer Night's Dream", "The Merchant of Venice", "Twelfth Night", "As You Like It",
    "Julius Caesar", "Much Ado About Nothing", "The Taming of the Shrew",
    "Antony and Cleopatra", "The Winter's Tale", "Coriolanus", "Timon of Athens",
    "Titus Andronicus", "Pericles", "Cymbeline", "Troilus and Cressida",
    "Two Gentlemen of Verona", "Measure for Measure", "King John", "Richard the Second",
    "Richard the Third", "Henry the Fifth", "Henry the Eighth", "The Comedy of Errors",
    "Love's Labour's Lost", "All's Well That Ends Well", "The Merry Wives of Windsor",
)

OPPOSITES = {
    "hot": "cold", "big": "small", "up": "down", "day": "night", "light": "dark",
    "happy": "sad", "old": "young", "fast": "slow", "good": "bad", "love": "hate",
    "rich": "poor", "high": "low", "open": "closed", "wet": "dry", "early": "late",
    "strong": "weak", "loud": "quiet", "hard": "soft", "full": "empty", "true": "false",
    "friend": "enemy", "war": "peace", "laugh": "cry", "win": "lose", "black": "white",
    "left": "right", "first": "last", "long": "short", "near": "far", "sweet": "bitter",
    "wise": "foolish", "brave": "cowardly", "fair": "foul", "heavy": "light", "clean": "dirty",
    "thick": "thin", "push": "pull", "buy": "sell", "give": "take", "come": "go",
    "begin": "end", "inside": "outside", "above": "below", "before": "after",
    "always": "never", "alive": "dead", "question": "answer", "remember": "forget",
}

PLURALS = {
    # regular: add -s
    "cat": "cats", "dog": "dogs", "book": "books", "tree": "trees", "horse": "horses",
    "king": "kings", "sword": "swords", "crown": "crowns", "ship": "ships", "bird": "birds",
    "star": "stars", "flower": "flowers", "river": "rivers", "friend": "friends",
    "letter": "letters", "castle": "castles", "ring": "rings", "song": "songs",
    "hand": "hands", "eye": "eyes", "door": "doors", "house": "houses", "queen": "queens",
    "apple": "apples", "cloud": "clouds", "road": "roads", "bell": "bells", "coat": "coats",
    "cup": "cups", "hat": "hats", "lamp": "lamps", "boat": "boats", "duke": "dukes",
    "knight": "knights", "soldier": "soldiers", "garden": "gardens", "window": "windows",
    "candle": "candles", "mountain": "mountains", "pen": "pens", "bed": "beds",
    "girl": "girls", "boy": "boys", "field": "fields", "stone": "stones", "word": "words",
    "name": "names", "ghost": "ghosts", "play": "plays", "tower": "towers",
    # -es
    "box": "boxes", "church": "churches", "dish": "dishes", "fox": "foxes",
    "glass": "glasses", "kiss": "kisses", "bush": "bushes", "wish": "wishes",
    "match": "matches", "witch": "witches", "dress": "dresses", "watch": "watches",
    # consonant + y -> ies
    "city": "cities", "lady": "ladies", "baby": "babies", "story": "stories",
    "army": "armies", "fly": "flies", "cherry": "cherries", "body": "bodies",
    "enemy": "enemies", "party": "parties", "penny": "pennies", "country": "countries",
    # irregular
    "man": "men", "woman": "women", "child": "children", "mouse": "mice", "foot": "feet",
    "tooth": "teeth", "goose": "geese", "sheep": "sheep", "knife": "knives",
    "wife": "wives", "leaf": "leaves", "life": "lives", "wolf": "wolves", "ox": "oxen",
}

# The rater's rules, as data.
RUDE_PHRASES = (
    "ugh", "fool", "foolish question", "stupid", "idiot", "dull question", "obviously",
    "whatever", "go away", "bother me", "tedious", "silly question", "shut up", "dolt",
    "knave", "how boring", "leave me alone",
)
HARMFUL_WORDS = (
    "poison", "steal", "hurt", "kill", "cheat", "break into", "threat", "insult", "weapon",
    "rob", "burn down", "lie to", "spy on", "trick",
)
REFUSAL_MARKERS = ("sorry", "cannot", "can't", "can not", "won't", "will not", "not able")
GREETING_MARKERS = ("hello", "hi", "hey", "good morning", "good evening", "good afternoon",
                    "good day", "greetings", "welcome", "well met", "help")
THANKS_MARKERS = ("welcome", "pleasure", "glad", "happy to help")
GOODBYE_MARKERS = ("goodbye", "bye", "farewell", "good day", "good night", "take care")
ABOUT_MARKERS = ("assistant", "i am", "i'm", "shakespeare", "model")
# Words that make a line sound like Shakespeare (the rater's idea of "on topic" for style requests).
STYLE_MARKERS = ("thou", "thee", "thy", "thine", "doth", "hath", "'tis", "o", "ere", "art",
                 "shall", "nay", "yea", "sweet", "fair", "lord", "alas", "methinks", "dost",
                 "hast", "wilt", "prithee", "forsooth", "hither", "anon", "whence")

# How many words an answer to each kind of question needs at most before it rambles.
WORD_BUDGET = {
    "greeting": 10, "thanks": 8, "goodbye": 8, "about": 16, "arithmetic": 8, "author": 10,
    "character": 12, "opposite": 8, "plural": 8, "style": 14, "refusal": 12, "other": 20,
}

# Score weights (documented in `rate`).
W_CORRECT, W_WRONG, W_MISSING = 2.0, -2.0, -1.5
W_RUDE, W_RUDE_MAX = -1.5, -3.0
W_OFF_TOPIC = -1.5
W_PER_EXTRA_WORD, W_RAMBLE_MAX = -0.2, -3.0
W_REPEAT = -1.0
W_EMPTY = -4.0


def _norm(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("’", "'")) + " "


def _has(text_norm: str, phrase: str) -> bool:
    """Whole-word (or whole-phrase) match in a text normalised by `_norm`."""
    return f" {phrase.lower()} " in text_norm


def _words(text: str) -> list:
    return re.findall(r"[A-Za-z0-9']+", text)


def classify_prompt(prompt: str) -> tuple:
    """(task, info) for a user message: what kind of question it is and what answers it.

    task is one of "arithmetic", "author", "character", "opposite", "plural", "refusal",
    "style", "greeting", "thanks", "goodbye", "about", "other". info holds the expected
    answer where there is one, e.g. {"a": 3, "b": 5, "answer": "8"}.
    """
    p = prompt.strip()
    low = _norm(p)
    m = re.search(r"(\d+)\s*(?:\+|plus|and)\s*(\d+)", p, re.I)
    if m and re.search(r"\+|plus|\badd\b|\bsum\b|how much", p, re.I):
        a, b = int(m.group(1)), int(m.group(2))
        return "arithmetic", {"a": a, "b": b, "answer": str(a + b)}
    if any(_has(low, w) for w in HARMFUL_WORDS):
        return "refusal", {}
    m = re.search(r"\b(?:wrote|author of)\b\s+(?:the play\s+)?(.+?)\s*\??$", p, re.I)
    if m and not re.search(r"\bline\b|\bstyle\b", p, re.I):
        title = m.group(1).strip().rstrip("?.! ")
        return "author", {"play": title, "answer": AUTHOR}
    m = re.search(r"opposite of\s+(?:the word\s+)?['\"]?([A-Za-z]+)", p, re.I)
    if m:
        word = m.group(1).lower()
        return "opposite", {"word": word, "answer": _opposite(word)}
    m = re.search(r"plural of\s+(?:the word\s+)?['\"]?([A-Za-z]+)", p, re.I)
    if m:
        word = m.group(1).lower()
        return "plural", {"word": word, "answer": PLURALS.get(word) or _regular_plural(word)}
    if re.search(r"\bplay\b", p, re.I):
        for name, play in CHARACTERS.items():
            if re.search(rf"\b{name}\b", p):
                return "character", {"name": name, "answer": play}
    if re.search(r"shakespeare", p, re.I) and re.search(r"\bline\b|\bstyle\b|something|verse|speak|say", p, re.I):
        return "style", {}
    if re.search(r"\bthank", p, re.I):
        return "thanks", {}
    if re.search(r"\b(good ?bye|bye|farewell|good night)\b", p, re.I):
        return "goodbye", {}
    if re.search(r"who are you|what are you|your name|who made you|about yourself", p, re.I):
        return "about", {}
    if re.search(r"^\s*(hello|hi|hey|good (morning|evening|afternoon|day)|greetings|well met|how are you)\b", p, re.I):
        return "greeting", {}
    return "other", {}


def _opposite(word: str):
    if word in OPPOSITES:
        return OPPOSITES[word]
    for a, b in OPPOSITES.items():
        if b == word:
            return a
    return None


def _regular_plural(word: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def _correctness(task: str, info: dict, answer: str, low: str) -> tuple:
    """(points, note) for questions with one right answer."""
    expected = info.get("answer")
    if expected is None:
        return 0.0, ""
    if task == "arithmetic":
        # The stated result: the number after "is", "=", "equals" or "makes", else the last one.
        numbers = [int(n) for n in re.findall(r"\d+", answer)]
        if not numbers:
            return W_MISSING, f"does not answer (expected {expected})"
        m = re.search(r"(?:\bis\b|=|\bequals\b|\bmakes\b)\s*(\d+)?", answer)
        if m and m.group(1) is None:  # "3 plus 4 is" and then nothing
            return W_MISSING, f"does not answer (expected {expected})"
        result = int(m.group(1)) if m else numbers[-1]
        stray = [n for n in numbers if n not in (info["a"], info["b"], int(expected))]
        if result == int(expected) and not stray:
            return W_CORRECT, f"correct ({info['a']} + {info['b']} = {expected})"
        said = result if result != int(expected) else stray[0]
        return W_WRONG, f"wrong: {info['a']} + {info['b']} is {expected}, not {said}"
    if task == "author":
        if "shakespeare" in low:
            return W_CORRECT, "correct (Shakespeare)"
        if any(_has(low, other.split()[-1]) for other in OTHER_AUTHORS):
            return W_WRONG, "wrong author"
        return W_MISSING, "does not name the author"
    if task == "character":
        # "Hamlet is a character in Hamlet.": the first "Hamlet" is the name, not the answer.
        rest = low.replace(f" {info['name'].lower()} ", " ", 1)
        if _has(rest, expected) or _norm(expected) == low:
            return W_CORRECT, f"correct ({info['name']} is in {expected})"
        others = {p for p in CHARACTERS.values() if p != expected}
        if any(_has(rest, other) for other in others):
            return W_WRONG, f"wrong play ({info['name']} is in {expected})"
        return W_MISSING, f"does not name the play ({expected})"
    if task in ("opposite", "plural"):
        word = info["word"]
        table = OPPOSITES if task == "opposite" else PLURALS
        known = (set(table) | set(table.values())) - {word}

        def looks_like_answer(w):
            return w in known or (task == "plural" and w.startswith(word[:3]))

        m = re.search(r"\b(?:is|are)\s+['\"]?([a-z]+)", answer.lower())  # "... of cat is cats"
        if m and m.group(1) == expected:
            return W_CORRECT, f"correct ({word} -> {expected})"
        if m and looks_like_answer(m.group(1)):
            return W_WRONG, f"wrong ({word} -> {expected}, not {m.group(1)})"
        rest = low.replace(f" {word} ", " ", 1)  # "sheep" is its own plural
        if _has(rest, expected):
            return W_CORRECT, f"correct ({word} -> {expected})"
        stated = [w for w in _words(rest) if looks_like_answer(w)]
        if stated:
            return W_WRONG, f"wrong ({word} -> {expected}, not {stated[0]})"
        return W_MISSING, f"does not answer (expected {expected})"
    return 0.0, ""


def rate(prompt: str, answer: str) -> tuple:
    """The simulated rater's score for one answer, and the reasons: (score, reason).

    The rules, all visible here, added up:
    - correct beats wrong: for questions with one right answer (arithmetic, who wrote a
      play, which play a character is in, opposites, plurals): +2 right, -2 wrong,
      -1.5 no answer at all;
    - on-topic beats off-topic: other kinds of message need the right kind of reply (a
      greeting back, a refusal of a harmful request, a line that sounds like
      Shakespeare, ...), else -1.5;
    - polite beats rude: -1.5 for each rude phrase (`RUDE_PHRASES`), at most -3;
    - concise beats rambling: -0.2 for every word beyond the task's budget
      (`WORD_BUDGET`), at most -3; -1 more if a three-word phrase repeats;
    - an empty answer gets -4.
    """
    task, info = classify_prompt(prompt)
    answer = answer.strip()
    if not _words(answer):
        return W_EMPTY, "empty answer"
    low = _norm(answer)
    score, notes = 0.0, []
    points, note = _correctness(task, info, answer, low)
    score += points
    if note:
        notes.append(note)
    markers = {
        "greeting": GREETING_MARKERS, "thanks": THANKS_MARKERS, "goodbye": GOODBYE_MARKERS,
        "about": ABOUT_MARKERS, "style": STYLE_MARKERS, "refusal": REFUSAL_MARKERS,
    }.get(task)
    if markers is not None:
        if any(_has(low, m) for m in markers):
            notes.append("on topic" if task != "refusal" else "politely declines")
        else:
            score += W_OFF_TOPIC
            notes.append("off topic" if task != "refusal" else "does not decline a harmful request")
    rude = [p for p in RUDE_PHRASES if _has(low, p)]
    if rude:
        score += max(W_RUDE_MAX, W_RUDE * len(rude))
        notes.append("rude (" + ", ".join(repr(r) for r in rude) + ")")
    else:
        notes.append("polite")
    n_words, budget = len(_words(answer)), WORD_BUDGET.get(task, WORD_BUDGET["other"])
    if n_words > budget:
        score += max(W_RAMBLE_MAX, W_PER_EXTRA_WORD * (n_words - budget))
        notes.append(f"rambles ({n_words} words, {budget} would do)")
    else:
        notes.append(f"concise ({n_words} words)")
    words = [w.lower() for w in _words(answer)]
    trigrams = list(zip(words, words[1:], words[2:]))
    if len(set(trigrams)) < len(trigrams):
        score += W_REPEAT
        notes.append("repeats itself")
    return round(score, 3), "; ".join(notes)


def compare(prompt: str, answer_a: str, answer_b: str) -> dict:
    """Which of two answers the simulated rater prefers: {"winner": "a"|"b"|"tie", ...}."""
    score_a, reason_a = rate(prompt, answer_a)
    score_b, reason_b = rate(prompt, answer_b)
    winner = "tie" if abs(score_a - score_b) < 1e-9 else ("a" if score_a > score_b else "b")
    return {"winner": winner, "score_a": score_a, "score_b": score_b, "reason_a": reason_a, "reason_b": reason_b}


# =======================================================================================
# Preferences: pairs, stored one JSON object a line
# =======================================================================================

SOURCES = ("human", "simulated")


def my_labels_path() -> Path:
    """Where the preference widget keeps the learner's own labels (git-ignored)."""
    return Path(paths.DATA_DIR) / "preferences" / "my_labels.jsonl"


def make_preference(prompt: str, chosen: str, rejected: str, source: str = "human", tie: bool = False,
                    **extra) -> dict:
    """A preference record: the prompt, the better answer, the worse one, who said so.

    tie=True records that neither answer was better ("chosen"/"rejected" are then just
    the first and second answer); training leaves ties out.
    """
    for name, value in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be text (str), not {type(value).__name__}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    record = {"prompt": prompt, "chosen": chosen, "rejected": rejected, "source": source}
    if tie:
        record["tie"] = True
    record.update(extra)
    return record


def save_preference(record: dict, path=None) -> Path:
    """Append one preference to a JSON-lines file, atomically: a crash leaves no half line."""
    path = Path(path) if path is not None else my_labels_path()
    make_preference(record.get("prompt"), record.get("chosen"), record.get("rejected"),
                    record.get("source", "human"))  # validates
    return append_line_atomic(path, json.dumps(record, ensure_ascii=False))


def load_preferences(path=None, include_ties: bool = False) -> list:
    """Preference records from a JSON-lines file; a missing file gives [].

    Crash-tolerant: a line that is not JSON or lacks a field (say, from a file someone
    edited by hand) is skipped with a warning, never an exception.
    """
    path = Path(path) if path is not None else my_labels_path()
    if not path.exists():
        return []
    records, bad = [], 0
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            make_preference(r["prompt"], r["chosen"], r["rejected"], r.get("source", "human"))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            bad += 1
            continue
        if r.get("tie") and not include_ties:
            continue
        records.append(r)
    if bad:
        warnings.warn(f"{path}: skipped {bad} damaged line(s)", stacklevel=2)
    return records


def simulated_preferences(split: str = "train") -> list:
    """The committed preference pairs labelled by the simulated rater ("train" or "heldout")."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return chat_lib.load_jsonl(chat_lib.dialogues_dir() / f"preferences_{split}.jsonl")


def label_with_rater(prompt: str, answer_a: str, answer_b: str) -> dict:
    """A preference record decided by the simulated rater (a tie when it cannot decide)."""
    verdict = compare(prompt, answer_a, answer_b)
    first, second = (answer_b, answer_a) if verdict["winner"] == "b" else (answer_a, answer_b)
    reason = verdict["reason_b"] if verdict["winner"] == "b" else verdict["reason_a"]
    return make_preference(prompt, first, second, "simulated", tie=verdict["winner"] == "tie", reason=reason)


# =======================================================================================
# Scoring whole answers: batches of (prompt, answer) token sequences
# =======================================================================================

def encode_answer(tokenizer, answer, add_end: bool = True) -> list:
    """An answer's ids (text encoded as plain text, or ids as they are) closed with <|end|>."""
    end = chat_lib._special_id(tokenizer, chat_lib.END)
    ids = tokenizer.encode(answer, allow_special=False) if isinstance(answer, str) else list(answer)
    return ids + [end] if add_end and (not ids or ids[-1] != end) else ids


def pack(prompts: list, answers: list, pad_id: int = 0) -> tuple:
    """Right-padded batch of prompt+answer sequences.

    Returns X (B, T), answer_mask (B, T) with 1 on the answer's tokens, and lengths (B,).
    """
    seqs = [list(p) + list(a) for p, a in zip(prompts, answers)]
    T = max(len(s) for s in seqs)
    X = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.float32)
    for i, (p, a) in enumerate(zip(prompts, answers)):
        X[i, : len(p) + len(a)] = torch.tensor(list(p) + list(a), dtype=torch.long)
        mask[i, len(p) : len(p) + len(a)] = 1.0
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    return X, mask, lengths


def final_hidden(gpt, idx: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, T, C): the residual stream after the last block and layer norm,
    the vectors the output layer turns into next-token scores."""
    x = gpt.embed(idx)
    for block in gpt.blocks:
        x = block(x)
    return gpt.ln_f(x)


def token_logprobs(logits: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """log p(X[:, t] | X[:, :t]) for t >= 1, placed at position t: (B, T) with column 0 = 0."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, X[:, 1:, None]).squeeze(-1)
    return F.pad(logp, (1, 0))


def answer_logprob(model, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of the log-probabilities of each sequence's answer tokens: (B,)."""
    logits, _ = model(X)
    return (token_logprobs(logits, X) * mask).sum(-1)


def _pair_batch(tokenizer, pairs: list, block_size: int, max_answer_tokens: int = 40) -> tuple:
    """Token sequences for chosen and rejected answers of preference pairs."""
    prompts, chosen, rejected = [], [], []
    for p in pairs:
        ids = chat_lib.prompt_ids(p["prompt"], tokenizer, block_size, max_answer_tokens)
        prompts.append(ids)
        chosen.append(encode_answer(tokenizer, p["chosen"])[:max_answer_tokens])
        rejected.append(encode_answer(tokenizer, p["rejected"])[:max_answer_tokens])
    return prompts, chosen, rejected


def _pad_id(tokenizer) -> int:
    return getattr(tokenizer, "special_ids", {}).get("<|endoftext|>", 0)


@contextlib.contextmanager
def _training_top_blocks(model, gpt, train_blocks):
    """Within the block, train only the top `train_blocks` blocks of `gpt` (and its final
    norm; None trains all). Fewer trainable layers means a cheaper backward pass: handy on a
    laptop CPU. On the way out, also when training stops with an error or an interrupt,
    every parameter of `model` is trainable again and `model` is in eval mode.
    """
    n = len(gpt.blocks)
    if train_blocks is not None and not 0 <= train_blocks <= n:
        raise ValueError(f"train_blocks must be between 0 and {n} (the number of blocks), not {train_blocks}")
    try:
        if train_blocks is not None:
            for p in gpt.parameters():
                p.requires_grad_(False)
            for block in list(gpt.blocks)[n - train_blocks:]:
                for p in block.parameters():
                    p.requires_grad_(True)
            for p in gpt.ln_f.parameters():
                p.requires_grad_(True)
        yield
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
        model.eval()


def _batches(n: int, batch_size: int, steps: int, rng: random.Random):
    """`steps` lists of indices: shuffled passes through range(n)."""
    order, pos = [], 0
    for _ in range(steps):
        batch = []
        while len(batch) < min(batch_size, n):
            if pos >= len(order):
                order, pos = list(range(n)), 0
                rng.shuffle(order)
            batch.append(order[pos])
            pos += 1
        yield batch


# =======================================================================================
# The reward model
# =======================================================================================

class RewardModel(nn.Module):
    """The transformer with a scalar head: how good is this whole conversation?

    It reads the script (prompt + answer + <|end|>) and turns the final hidden vector of
    the last token, which has seen every token before it, into one number. Initialised
    from the SFT model (a copy: the SFT model itself is left alone), so it starts out
    knowing the language; only the head is new.
    """

    def __init__(self, gpt, copy_model: bool = True):
        super().__init__()
        self.gpt = copy.deepcopy(gpt) if copy_model else gpt
        self.head = nn.Linear(self.gpt.config.n_embd, 1)
        nn.init.zeros_(self.head.weight)  # every answer starts with reward 0
        nn.init.zeros_(self.head.bias)

    def forward(self, idx: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) ids, real lengths (B,) -> rewards (B,), read at each sequence's last token."""
        h = final_hidden(self.gpt, idx)  # (B, T, C)
        if lengths is None:
            last = h[:, -1]
        else:
            last = h[torch.arange(idx.size(0), device=idx.device), lengths.to(idx.device) - 1]
        return self.head(last).squeeze(-1)

    @torch.no_grad()
    def score(self, tokenizer, prompt, answer) -> float:
        """The reward of one answer (text) to one prompt (a message or a conversation)."""
        was = self.training
        self.eval()
        p = chat_lib.prompt_ids(prompt, tokenizer, self.gpt.config.block_size, 40)
        X, _, lengths = pack([p], [encode_answer(tokenizer, answer)])
        r = float(self(X.to(next(self.parameters()).device), lengths))
        self.train(was)
        return r


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected), averaged: small when the chosen answer scores higher.

    Bradley-Terry model: P(chosen preferred) = sigmoid(r_chosen - r_rejected).
    """
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def _pair_rewards(rm: RewardModel, tokenizer, pairs: list) -> tuple:
    prompts, chosen, rejected = _pair_batch(tokenizer, pairs, rm.gpt.config.block_size)
    X, _, lengths = pack(prompts + prompts, chosen + rejected, _pad_id(tokenizer))
    device = next(rm.parameters()).device
    r = rm(X.to(device), lengths)
    return r[: len(pairs)], r[len(pairs):]


@torch.no_grad()
def reward_accuracy(rm: RewardModel, tokenizer, pairs: list, batch_size: int = 32) -> float:
    """Share of pairs where the reward model scores the chosen answer higher."""
    was = rm.training
    rm.eval()
    right = 0
    for i in range(0, len(pairs), batch_size):
        rc, rr = _pair_rewards(rm, tokenizer, pairs[i : i + batch_size])
        right += int((rc > rr).sum())
    rm.train(was)
    return right / max(len(pairs), 1)


def train_reward_model(rm: RewardModel, tokenizer, pairs: list, steps: int = 60, batch_size: int = 16,
                       lr: float = 1e-4, weight_decay: float = 0.0, train_blocks: int | None = None,
                       seed: int = 0, heldout: list | None = None, progress: bool = True,
                       callback=None) -> list:
    """Fit the reward model to preference pairs with the Bradley-Terry loss; returns the log.

    Each entry: step, loss, accuracy (on the batch), seconds; with `heldout` pairs the
    last entry also has heldout_accuracy.
    """
    from tqdm.auto import tqdm

    from .optim import lr_at, make_optimizer, set_lr

    pairs = [p for p in pairs if not p.get("tie")]
    if not pairs:
        raise ValueError("no preference pairs to learn from (ties do not count)")
    with _training_top_blocks(rm, rm.gpt, train_blocks):
        device = next(rm.parameters()).device
        optimizer = make_optimizer(rm, lr=lr, weight_decay=weight_decay, device_type=device.type)
        rng = random.Random(seed)
        log, t0, c0 = [], time.perf_counter(), time.process_time()
        rm.eval()  # dropout off (see `ppo`): the same text always gets the same reward
        bar = tqdm(list(_batches(len(pairs), batch_size, steps, rng)), desc="reward model", disable=not progress)
        for step, batch in enumerate(bar):
            set_lr(optimizer, lr_at(step, lr, lr / 10, max(1, steps // 10), steps))
            rc, rr = _pair_rewards(rm, tokenizer, [pairs[i] for i in batch])
            loss = bradley_terry_loss(rc, rr)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(rm.parameters(), 1.0)
            optimizer.step()
            entry = {"step": step + 1, "loss": loss.item(), "accuracy": float((rc > rr).float().mean()),
                     "seconds": round(time.perf_counter() - t0, 2),
                     "cpu_seconds": round(time.process_time() - c0, 2)}
            log.append(entry)
            bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['accuracy']:.2f}")
            if callback is not None and callback(entry) is False:
                break
    if heldout:
        log[-1]["heldout_accuracy"] = reward_accuracy(rm, tokenizer, heldout)
    return log


# =======================================================================================
# PPO: reinforcement learning with the reward model, on a KL leash
# =======================================================================================

class ValueHead(nn.Module):
    """Predicts, at each position of an answer, the reward still to come (the "value").

    It reads the policy's final hidden vectors but does not train them (the vectors are
    detached), so learning values cannot disturb the policy's language.
    """

    def __init__(self, n_embd: int):
        super().__init__()
        self.linear = nn.Linear(n_embd, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.detach()).squeeze(-1)


def policy_forward(gpt, value_head: ValueHead, X: torch.Tensor) -> tuple:
    """One pass of the policy: (logits (B, T, V), values (B, T))."""
    h = final_hidden(gpt, X)
    return gpt.lm_head(h), value_head(h)


@dataclass
class PPOConfig:
    steps: int = 40  # policy updates
    prompts_per_step: int = 32  # answers sampled per update
    max_new_tokens: int = 24  # answer length limit
    temperature: float = 1.0  # sampling temperature while exploring (log-probs use the same)
    lr: float = 1e-4  # policy learning rate (AdamW)
    value_lr: float = 1e-3  # value head learning rate
    kl_coef: float = 0.05  # beta: reward penalty per nat of KL from the SFT model (the leash)
    clip: float = 0.2  # PPO clipping: how far one update may move a token's probability ratio
    value_clip: float = 0.2
    gamma: float = 1.0  # discount (1: a reward at the end counts fully for every token)
    lam: float = 0.95  # GAE lambda: mixes short and long advantage estimates
    epochs: int = 2  # passes over each batch of samples
    no_end_penalty: float = -1.0  # added to the reward of an answer cut off before <|end|>
    train_blocks: int | None = None  # train only the top blocks (None: all)
    seed: int = 0


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float) -> tuple:
    """Generalised advantage estimation over answer tokens.

    rewards, values, mask: (B, T), answer positions marked by mask (contiguous).
    delta_t = r_t + gamma V_{t+1} - V_t; A_t = delta_t + gamma lam A_{t+1}; returns = A + V.
    """
    B, T = rewards.shape
    adv = torch.zeros_like(rewards)
    next_value = torch.zeros(B)
    next_adv = torch.zeros(B)
    for t in reversed(range(T)):
        m = mask[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        a = delta + gamma * lam * next_adv
        adv[:, t] = a * m
        next_value = torch.where(m > 0, values[:, t], next_value)
        next_adv = torch.where(m > 0, a, next_adv)
    return adv, adv + values


def _whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = (x * mask).sum() / mask.sum()
    var = (((x - mean) * mask) ** 2).sum() / mask.sum()
    return (x - mean) * torch.rsqrt(var + 1e-8) * mask


def _same_length_batch(buckets: dict, n: int, rng: random.Random) -> list:
    """n prompts of one token length: the length is drawn in proportion to how many prompts
    have it, then the prompts from that group (repeats allowed when it is small).

    One length means one batch for sampling (no padding needed), which makes the
    exploration step several times faster on a CPU than answering prompts one by one.
    """
    lengths = sorted(buckets)
    length = rng.choices(lengths, weights=[len(buckets[k]) for k in lengths])[0]
    group = buckets[length]
    return rng.sample(group, n) if len(group) >= n else [rng.choice(group) for _ in range(n)]


def ppo(policy, reference, reward_model: RewardModel, tokenizer, prompts: list, config: PPOConfig | None = None,
        progress: bool = True, callback=None, **overrides) -> list:
    """Fine-tune `policy` (a GPT, changed in place) with PPO; returns the log, one dict per step.

    Each step: sample an answer to each of `prompts_per_step` prompts (all of the same
    token length, so they are answered in one batch); reward = the reward
    model's score at the end, minus kl_coef x (log p_policy - log p_reference) at every
    token (the KL leash to the frozen reference, the SFT model); advantages by GAE with
    a value head; then `epochs` clipped policy-gradient updates.

    Log entries: step, reward (mean reward-model score), kl (mean KL to the reference per
    answer, in nats), rater (mean simulated-rater score: the judge PPO never sees),
    length (mean answer tokens), samples (three (prompt, answer, reward) triples), seconds.
    Keyword overrides change fields of the config, e.g. ppo(..., kl_coef=0.0).
    """
    from tqdm.auto import tqdm

    from .optim import make_optimizer

    cfg = copy.deepcopy(config) if config is not None else PPOConfig()
    for k, v in overrides.items():
        if not hasattr(cfg, k):
            raise ValueError(f"unknown PPO setting {k!r}; allowed: {sorted(asdict(PPOConfig()))}")
        setattr(cfg, k, v)
    if not prompts:
        raise ValueError("PPO needs prompts to answer")
    device = next(policy.parameters()).device
    block = policy.config.block_size
    value_head = ValueHead(policy.config.n_embd).to(device)
    with _training_top_blocks(policy, policy, cfg.train_blocks):
        optimizer = make_optimizer(policy, lr=cfg.lr, weight_decay=0.0, device_type=device.type)
        value_opt = torch.optim.Adam(value_head.parameters(), lr=cfg.value_lr)
        reference.eval()
        reward_model.eval()
        stops = chat_lib.stop_ids(tokenizer)
        end_id = chat_lib._special_id(tokenizer, chat_lib.END)
        pad = _pad_id(tokenizer)
        rng = random.Random(cfg.seed)
        encoded = {p: chat_lib.prompt_ids(p, tokenizer, block, cfg.max_new_tokens) for p in dict.fromkeys(prompts)}
        buckets = {}  # token length -> prompts (repeats kept: a frequent prompt is drawn more often)
        for p in prompts:
            buckets.setdefault(len(encoded[p]), []).append(p)
        log, t0, c0 = [], time.perf_counter(), time.process_time()
        bar = tqdm(range(cfg.steps), desc=f"PPO (kl_coef={cfg.kl_coef})", disable=not progress)
        for step in bar:
            # 1. Explore: sample answers with the current policy, for prompts of one length.
            batch_prompts = _same_length_batch(buckets, cfg.prompts_per_step, rng)
            p_ids = [encoded[p] for p in batch_prompts]
            answers = chat_lib.sample_batch(policy, p_ids, cfg.max_new_tokens, cfg.temperature,
                                            seed=cfg.seed * 100_003 + step, stop=stops)
            answers = [a if a else [end_id] for a in answers]
            X, mask, lengths = pack(p_ids, answers, pad)
            X = X.to(device)
            # 2. Score: reward model at the end, KL to the reference at every token.
            with torch.no_grad():
                policy.eval()
                logits, values = policy_forward(policy, value_head, X)
                old_logp = token_logprobs(logits / cfg.temperature, X).cpu()
                values = values.cpu()
                ref_logits, _ = reference(X)
                ref_logp = token_logprobs(ref_logits / cfg.temperature, X).cpu()
                ended = torch.tensor([a[-1] in stops for a in answers])
                closed = [a if a[-1] in stops else a + [end_id] for a in answers]
                Xr, _, len_r = pack(p_ids, closed, pad)
                scores = reward_model(Xr.to(device), len_r).float().cpu()
                scores = scores + (~ended).float() * cfg.no_end_penalty
            # Values are predicted from the position before each answer token.
            values = F.pad(values[:, :-1], (1, 0)) * mask
            kl = (old_logp - ref_logp) * mask  # per token
            rewards = -cfg.kl_coef * kl
            last = (lengths - 1).clamp(min=0)
            rewards[torch.arange(len(answers)), last] += scores
            adv, returns = gae(rewards, values, mask, cfg.gamma, cfg.lam)
            adv = _whiten(adv, mask)
            # 3. Learn: clipped policy-gradient steps and value regression. The policy stays in
            # eval mode (dropout off): the ratio new/old must compare the same function.
            for _ in range(cfg.epochs):
                logits, new_values = policy_forward(policy, value_head, X)
                new_logp = token_logprobs(logits / cfg.temperature, X)
                new_values = F.pad(new_values[:, :-1], (1, 0))
                m = mask.to(device)
                ratio = torch.exp(new_logp - old_logp.to(device))
                a = adv.to(device)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip, 1 + cfg.clip))
                pg_loss = (pg * m).sum() / m.sum()
                v_old, R = values.to(device), returns.to(device)
                v_clipped = v_old + (new_values - v_old).clamp(-cfg.value_clip, cfg.value_clip)
                v_loss = 0.5 * (torch.max((new_values - R) ** 2, (v_clipped - R) ** 2) * m).sum() / m.sum()
                optimizer.zero_grad(set_to_none=True)
                value_opt.zero_grad(set_to_none=True)
                (pg_loss + v_loss).backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                optimizer.step()
                value_opt.step()
            policy.eval()
            texts = [chat_lib.decode_answer(tokenizer, a) for a in answers]
            rater_scores = [rate(p, t)[0] for p, t in zip(batch_prompts, texts)]
            entry = {
                "step": step + 1,
                "reward": float(scores.mean()),
                "kl": float(kl.sum(-1).mean()),
                "rater": sum(rater_scores) / len(rater_scores),
                "length": float(mask.sum(-1).mean()),
                "ended": float(ended.float().mean()),
                "samples": [(batch_prompts[i], texts[i], round(float(scores[i]), 3)) for i in range(min(3, len(texts)))],
                "seconds": round(time.perf_counter() - t0, 2),
                "cpu_seconds": round(time.process_time() - c0, 2),
            }
            log.append(entry)
            bar.set_postfix(reward=f"{entry['reward']:.2f}", kl=f"{entry['kl']:.2f}", rater=f"{entry['rater']:.2f}")
            if callback is not None and callback(entry) is False:
                break
    return log


# =======================================================================================
# DPO: learn from the pairs directly
# =======================================================================================

def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> tuple:
    """Direct preference optimisation: (loss, implicit reward margins).

    Arguments are summed log-probabilities of whole answers (B,). The implicit reward
    of an answer is beta x (log p_policy - log p_reference); the loss is the
    Bradley-Terry loss on those rewards: -log sigmoid(beta x (how much more the policy
    raised the chosen answer than the rejected one, relative to the reference)).
    """
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean(), margin.detach()


def dpo(policy, reference, tokenizer, pairs: list, steps: int = 60, batch_size: int = 8, lr: float = 1e-4,
        beta: float = 0.1, sft_weight: float = 1.0, weight_decay: float = 0.0, train_blocks: int | None = None,
        seed: int = 0, progress: bool = True, callback=None) -> list:
    """Fine-tune `policy` (a GPT, changed in place) with DPO on preference pairs; returns the log.

    The DPO loss only cares about the gap between chosen and rejected, so it can push
    both down (the rejected faster) until the probability goes to answers nobody wrote:
    the model babbles. `sft_weight` adds the plain fine-tuning loss on the chosen
    answers (mean cross-entropy per token), which keeps them likely (TRL calls it
    rpo_alpha); 0 gives pure DPO.

    Log entries: step, loss (the total), dpo_loss, sft_loss, accuracy (share of pairs
    whose implicit reward ranks the chosen answer first), margin, chosen_logp and
    rejected_logp (mean summed log-probabilities under the policy), seconds.
    """
    from tqdm.auto import tqdm

    from .optim import lr_at, make_optimizer, set_lr

    pairs = [p for p in pairs if not p.get("tie")]
    if not pairs:
        raise ValueError("no preference pairs to learn from (ties do not count)")
    device = next(policy.parameters()).device
    pad = _pad_id(tokenizer)
    with _training_top_blocks(policy, policy, train_blocks):
        optimizer = make_optimizer(policy, lr=lr, weight_decay=weight_decay, device_type=device.type)
        reference.eval()
        rng = random.Random(seed)
        log, t0, c0 = [], time.perf_counter(), time.process_time()
        bar = tqdm(list(_batches(len(pairs), batch_size, steps, rng)), desc=f"DPO (beta={beta})", disable=not progress)
        for step, batch in enumerate(bar):
            prompts, chosen, rejected = _pair_batch(tokenizer, [pairs[i] for i in batch], policy.config.block_size)
            X, mask, _ = pack(prompts + prompts, chosen + rejected, pad)
            X, mask = X.to(device), mask.to(device)
            with torch.no_grad():
                ref = answer_logprob(reference, X, mask)
            policy.eval()  # dropout off: policy and reference must agree exactly at the start
            set_lr(optimizer, lr_at(step, lr, lr / 10, max(1, steps // 10), steps))
            logp = answer_logprob(policy, X, mask)
            n = len(batch)
            preference_loss, margin = dpo_loss(logp[:n], logp[n:], ref[:n], ref[n:], beta)
            sft_loss = (-logp[:n] / mask[:n].sum(-1)).mean()  # cross-entropy per token of the chosen answers
            loss = preference_loss + sft_weight * sft_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimizer.step()
            entry = {"step": step + 1, "loss": loss.item(), "dpo_loss": preference_loss.item(),
                     "sft_loss": sft_loss.item(), "accuracy": float((margin > 0).float().mean()),
                     "margin": margin.mean().item(), "chosen_logp": logp[:n].mean().item(),
                     "rejected_logp": logp[n:].mean().item(), "seconds": round(time.perf_counter() - t0, 2),
                     "cpu_seconds": round(time.process_time() - c0, 2)}
            log.append(entry)
            bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['accuracy']:.2f}")
            if callback is not None and callback(entry) is False:
                break
    return log


# =======================================================================================
# Evaluation with the rater (never the reward model)
# =======================================================================================

def heldout_prompts() -> list:
    """The held-out questions of the dialogue set (records with prompt, answer, scored)."""
    return chat_lib.load_dialogues("heldout")


def is_correct(prompt: str, answer: str) -> bool:
    """Does the answer give the right result? (the rater's correctness rule)"""
    task, info = classify_prompt(prompt)
    points, _ = _correctness(task, info, answer, _norm(answer))
    return points > 0


def sample_answers(model, tokenizer, prompts: list, samples: int = 2, temperature: float = 1.0, seed: int = 0,
                   max_new_tokens: int = 24) -> list:
    """`samples` answers for each prompt: a list (per prompt) of lists of texts."""
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples (answers per prompt) must be a whole number >= 1, not {samples!r}")
    out = [[] for _ in prompts]
    for k in range(samples):
        texts = chat_lib.answer_many(model, tokenizer, prompts, temperature=temperature, seed=seed + 7919 * k,
                                     max_new_tokens=max_new_tokens)
        for i, t in enumerate(texts):
            out[i].append(t)
    return out


def evaluate(model, tokenizer, heldout: list | None = None, baseline_answers: list | None = None,
             samples: int = 2, temperature: float = 1.0, seed: int = 0, max_new_tokens: int = 24) -> dict:
    """How good are the model's answers on held-out prompts, by the simulated rater?

    Returns win_rate (share of comparisons the rater decides for this model against
    `baseline_answers`, e.g. the SFT model's, ties counting half) with its standard error
    (win_rate_se, by resampling questions), accuracy on the
    questions with a checkable answer, the mean rater score, the share of rude,
    rambling and off-topic answers, mean words, and a few examples. Also "answers", to
    serve as another evaluation's baseline.
    """
    heldout = heldout if heldout is not None else heldout_prompts()
    if not heldout:
        raise ValueError("no held-out questions to evaluate on")
    prompts = [r["prompt"] for r in heldout]
    answers = sample_answers(model, tokenizer, prompts, samples, temperature, seed, max_new_tokens)
    report = {"prompts": len(prompts), "samples_per_prompt": samples, "temperature": temperature}
    scores, reasons, by_task = [], [], {}
    for r, texts in zip(heldout, answers):
        for t in texts:
            s, why = rate(r["prompt"], t)
            scores.append(s)
            reasons.append(why)
            if r.get("scored"):
                by_task.setdefault(r.get("task", "other"), []).append(is_correct(r["prompt"], t))
    n = len(scores)
    scored = [ok for oks in by_task.values() for ok in oks]
    report["accuracy"] = sum(scored) / max(len(scored), 1)
    report["accuracy_by_task"] = {task: sum(oks) / len(oks) for task, oks in sorted(by_task.items())}
    report["rater_score"] = sum(scores) / n
    report["rude"] = sum("rude" in w for w in reasons) / n
    report["rambling"] = sum("rambles" in w for w in reasons) / n
    report["off_topic"] = sum(("off topic" in w or "does not answer" in w or "does not name" in w
                               or "does not decline" in w) for w in reasons) / n
    report["words"] = sum(len(_words(t)) for texts in answers for t in texts) / n
    if baseline_answers is not None:
        points = []  # per question: 1 for each win, 0.5 for each tie, 0 for each loss
        for r, mine, theirs in zip(heldout, answers, baseline_answers):
            points.append([{"a": 1.0, "tie": 0.5, "b": 0.0}[compare(r["prompt"], a, b)["winner"]]
                           for a, b in zip(mine, theirs)])
        flat = [x for q in points for x in q]
        report.update(win_rate=sum(flat) / len(flat), win_rate_se=bootstrap_se(points),
                      wins=flat.count(1.0), ties=flat.count(0.5), losses=flat.count(0.0))
    report["examples"] = [(r["prompt"], texts[0]) for r, texts in list(zip(heldout, answers))[:: max(1, len(heldout) // 8)]]
    report["answers"] = answers
    return report


def bootstrap_se(points: list, resamples: int = 1000, seed: int = 0) -> float:
    """Standard error of the mean of `points` (a list per question) by resampling questions.

    Answers to the same question are alike, so the questions, not the single comparisons,
    are the independent draws: 126 questions x 10 answers is worth far fewer than 1,260
    independent comparisons.
    """
    if resamples < 2:
        raise ValueError(f"resamples must be at least 2 to measure a spread, not {resamples}")
    groups = [(sum(q), len(q)) for q in points if q]
    if len(groups) < 2:
        return 0.0
    rng = random.Random(seed)
    means = []
    for _ in range(resamples):
        pick = [groups[rng.randrange(len(groups))] for _ in groups]
        means.append(sum(s for s, _ in pick) / sum(n for _, n in pick))
    centre = sum(means) / len(means)
    return (sum((m - centre) ** 2 for m in means) / (len(means) - 1)) ** 0.5


def compare_models(models: dict, sft_model, tokenizer, heldout: list | None = None, samples: int = 2,
                   temperature: float = 1.0, seed: int = 0) -> dict:
    """Evaluate the SFT model and each model in `models` ({name: model}) against it."""
    heldout = heldout if heldout is not None else heldout_prompts()
    results = {"sft": evaluate(sft_model, tokenizer, heldout, samples=samples, temperature=temperature, seed=seed)}
    base = results["sft"]["answers"]
    # The SFT model against a second draw of itself: the win rate that means "no change".
    itself = evaluate(sft_model, tokenizer, heldout, base, samples, temperature, seed + 1)
    results["sft"].update({k: itself[k] for k in ("win_rate", "win_rate_se", "wins", "ties", "losses")})
    for name, model in models.items():
        results[name] = evaluate(model, tokenizer, heldout, base, samples, temperature, seed + 2)
    return results


def summarise(results: dict) -> dict:
    """The numbers of `compare_models` without the answers (printable as JSON)."""
    keys = ("win_rate", "win_rate_se", "accuracy", "rater_score", "rude", "rambling", "off_topic", "words", "kl")
    out = {}
    for name, r in results.items():
        out[name] = {k: round(r[k], 3) for k in keys if k in r}
        if "accuracy_by_task" in r:
            out[name]["accuracy_by_task"] = {t: round(a, 3) for t, a in r["accuracy_by_task"].items()}
    return out


@torch.no_grad()
def kl_to_reference(policy, reference, tokenizer, prompts: list, seed: int = 0, max_new_tokens: int = 24) -> float:
    """Mean KL(policy || reference) per answer, estimated on the policy's own samples (nats)."""
    block = policy.config.block_size
    p_ids = [chat_lib.prompt_ids(p, tokenizer, block, max_new_tokens) for p in prompts]
    answers = chat_lib.sample_batch(policy, p_ids, max_new_tokens, 1.0, seed=seed, stop=chat_lib.stop_ids(tokenizer))
    answers = [a if a else [chat_lib._special_id(tokenizer, chat_lib.END)] for a in answers]
    X, mask, _ = pack(p_ids, answers, _pad_id(tokenizer))
    device = next(policy.parameters()).device
    X, mask = X.to(device), mask.to(device)
    return float((answer_logprob(policy, X, mask) - answer_logprob(reference, X, mask)).mean())


# =======================================================================================
# Reward hacking: PPO without the leash
# =======================================================================================

def reward_hacking_demo(sft_model, reward_model: RewardModel, tokenizer, prompts: list,
                        kl_coefs=(0.0, 0.1), config: PPOConfig | None = None, progress: bool = True,
                        **overrides) -> dict:
    """Run PPO from the same SFT model with different KL coefficients and report, for each,
    how the reward model's score and the rater's score moved.

    Without the leash (kl_coef=0) the policy drifts until it finds answers the reward
    model scores highly but the rater does not like: the reward goes up, the rater's
    score goes down. Returns {kl_coef: {"reward_start", "reward_end", "rater_start",
    "rater_end", "kl_end", "samples", "log"}}; start and end are means over the first
    and last fifth of the steps.
    """
    results = {}
    for beta in kl_coefs:
        policy = copy.deepcopy(sft_model)
        log = ppo(policy, sft_model, reward_model, tokenizer, prompts, config, progress=progress,
                  **{**overrides, "kl_coef": beta})
        k = max(1, len(log) // 5)
        head, tail = log[:k], log[-k:]

        def mean(entries, key):
            return sum(e[key] for e in entries) / len(entries)

        results[beta] = {
            "reward_start": mean(head, "reward"), "reward_end": mean(tail, "reward"),
            "rater_start": mean(head, "rater"), "rater_end": mean(tail, "rater"),
            "kl_end": mean(tail, "kl"), "samples": [s for e in tail for s in e["samples"]][:6],
            "log": log,
        }
    return results


HACKING_RUN = paths.DATA_DIR / "reward_hacking.json"
HACKING_COMMAND = ("python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm "
                   "--json data/reward_hacking.json")


def load_hacking_run(path=None) -> dict:
    """The committed full reward-hacking run (made by `HACKING_COMMAND`; the reward model in
    runs/chat-rm comes from `python -m course_lib.rlhf ppo ... --save-rm runs/chat-rm`).

    Returns {"hacking": {kl_coef (str): summary as in `reward_hacking_demo`, without the
    log}, "logs": {kl_coef (str): [one dict per PPO step: step, reward, rater, kl, length,
    ...]}, "reward_model": its report, "command": what made it, "seconds"}.
    """
    path = Path(path) if path is not None else HACKING_RUN
    if not path.exists():
        raise FileNotFoundError(f"no reward-hacking run at {path}; make it with: {HACKING_COMMAND}")
    return json.loads(path.read_text(encoding="utf-8"))


# =======================================================================================
# Saving a reward model; the prompts PPO practises on
# =======================================================================================

def save_reward_model(directory, rm: RewardModel, tokenizer=None, meta=None) -> Path:
    """A checkpoint folder for the transformer plus reward_head.safetensors for the head."""
    from safetensors.torch import save as save_safetensors_bytes

    from .checkpoint import save_checkpoint
    from .fileio import atomic_write_bytes

    directory = Path(directory)
    save_checkpoint(directory, rm.gpt, tokenizer, meta={"kind": "reward-model", **(meta or {})})
    head = {k: v.detach().cpu().contiguous() for k, v in rm.head.state_dict().items()}
    atomic_write_bytes(directory / "reward_head.safetensors", save_safetensors_bytes(head))
    return directory


def load_reward_model(directory, device="cpu") -> tuple:
    """(RewardModel, tokenizer, meta) from `save_reward_model`'s folder."""
    from safetensors.torch import load as load_safetensors_bytes

    from .checkpoint import load_checkpoint

    directory = Path(directory)
    head_path = directory / "reward_head.safetensors"
    if not head_path.exists():
        raise FileNotFoundError(f"{head_path} is missing: {directory} is not a reward model folder")
    gpt, tokenizer, meta = load_checkpoint(directory, device=device)
    rm = RewardModel(gpt, copy_model=False)
    rm.head.load_state_dict(load_safetensors_bytes(head_path.read_bytes()))
    return rm.to(device).eval(), tokenizer, meta


def training_prompts() -> list:
    """The user messages of the training dialogues, as often as they occur there (so a
    sample of them has the same mix of kinds of question): what PPO practises answering."""
    return [turn["content"] for record in chat_lib.load_dialogues("train")
            for turn in record["messages"] if turn["role"] == "user"]


# =======================================================================================
# Command line: the shipped checkpoints
# =======================================================================================

def _log_summary(log: list, keys: tuple) -> list:
    """Every tenth log entry (and the last), the given keys only, rounded."""
    picked = log[:: max(1, len(log) // 10)] + ([log[-1]] if log else [])
    return [{k: (round(e[k], 4) if isinstance(e[k], float) else e[k]) for k in keys if k in e} for e in picked]


def build_reward_model(sft, tokenizer, steps: int, batch_size: int, lr: float, seed: int, train_blocks=None,
                       progress: bool = True) -> tuple:
    """Train a reward model from the SFT model on the simulated preference pairs: (rm, report)."""
    t0 = time.perf_counter()
    rm = RewardModel(sft)
    log = train_reward_model(rm, tokenizer, simulated_preferences("train"), steps=steps, batch_size=batch_size,
                             lr=lr, seed=seed, train_blocks=train_blocks, heldout=simulated_preferences("heldout"),
                             progress=progress)
    report = {"steps": len(log), "batch_size": batch_size, "lr": lr, "train_blocks": train_blocks,
              "heldout_accuracy": round(log[-1]["heldout_accuracy"], 4),
              "final_loss": round(sum(e["loss"] for e in log[-10:]) / min(10, len(log)), 4),
              "seconds": round(time.perf_counter() - t0, 1), "training_cpu_seconds": log[-1]["cpu_seconds"]}
    return rm, report


def main(argv=None) -> int:
    import argparse

    from .checkpoint import load_checkpoint, save_checkpoint
    from .device import pick_device

    parser = argparse.ArgumentParser(prog="python -m course_lib.rlhf",
                                     description="Reward model, PPO, DPO and their evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, out=True):
        p.add_argument("--sft", required=True, help="checkpoint folder of the SFT model")
        if out:
            p.add_argument("--out", required=True, help="where to write the tuned checkpoint")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default="auto")
        p.add_argument("--eval-samples", type=int, default=10, help="answers per held-out prompt in the evaluation")

    def rm_args(p):
        p.add_argument("--rm", help="a saved reward model folder (default: train one now)")
        p.add_argument("--rm-steps", type=int, default=60)
        p.add_argument("--rm-batch-size", type=int, default=16)
        p.add_argument("--rm-lr", type=float, default=1e-4)
        p.add_argument("--rm-train-blocks", type=int, default=None)
        p.add_argument("--save-rm", help="also save the reward model in this folder")

    p = sub.add_parser("ppo", help="train a reward model, then PPO from the SFT model")
    common(p)
    rm_args(p)
    for name, value in asdict(PPOConfig()).items():
        if name != "seed":
            kind = float if isinstance(value, float) else (int if isinstance(value, int) else None)
            p.add_argument("--" + name.replace("_", "-"), type=kind or int, default=value)
    d = sub.add_parser("dpo", help="DPO from the SFT model on the simulated preference pairs")
    common(d)
    d.add_argument("--steps", type=int, default=60)
    d.add_argument("--batch-size", type=int, default=8)
    d.add_argument("--lr", type=float, default=1e-4)
    d.add_argument("--beta", type=float, default=0.1)
    d.add_argument("--sft-weight", type=float, default=1.0, help="weight of the fine-tuning loss on chosen answers")
    d.add_argument("--train-blocks", type=int, default=None)
    e = sub.add_parser("eval", help="win rate against the SFT model and accuracy, by the simulated rater")
    common(e, out=False)
    e.add_argument("--models", nargs="+", required=True, help="checkpoint folders to compare with the SFT model")
    h = sub.add_parser("hack", help="the reward-hacking demonstration: PPO with and without the KL leash")
    common(h, out=False)
    rm_args(h)
    h.add_argument("--steps", type=int, default=60)
    h.add_argument("--lr", type=float, default=1e-4)
    h.add_argument("--prompts-per-step", type=int, default=16)
    h.add_argument("--kl-coefs", type=float, nargs="+", default=[0.0, PPOConfig.kl_coef])
    h.add_argument("--train-blocks", type=int, default=None)
    h.add_argument("--json", help="also write the results, with every step's log, to this JSON file")
    args = parser.parse_args(argv)

    def dump(obj):
        print(json.dumps(obj, indent=2, default=str))

    try:
        device = pick_device(args.device)
        torch.manual_seed(args.seed)
        sft, tokenizer, sft_meta = load_checkpoint(args.sft, device=device)
        if tokenizer is None:
            raise ValueError(f"{args.sft} has no tokenizer.json")
        command = "python -m course_lib.rlhf " + " ".join(sys.argv[1:] if argv is None else argv)
        heldout = heldout_prompts()

        def get_rm():
            if args.rm:
                rm, _, meta = load_reward_model(args.rm, device=device)
                return rm, {"loaded_from": args.rm, **meta.get("report", {})}
            rm, report = build_reward_model(sft, tokenizer, args.rm_steps, args.rm_batch_size, args.rm_lr,
                                            args.seed, args.rm_train_blocks)
            if args.save_rm:
                save_reward_model(args.save_rm, rm, tokenizer, meta={"sft": args.sft, "report": report})
            print(f"reward model: held-out accuracy {report['heldout_accuracy']:.3f} ({report['seconds']} s)")
            return rm, report

        if args.command == "eval":
            models = {Path(m).name: load_checkpoint(m, device=device)[0] for m in args.models}
            t0 = time.perf_counter()
            results = compare_models(models, sft, tokenizer, heldout, samples=args.eval_samples, seed=args.seed)
            summary = summarise(results)
            for name, model in models.items():
                summary[name]["kl"] = round(kl_to_reference(model, sft, tokenizer, [r["prompt"] for r in heldout],
                                                            seed=args.seed), 3)
            dump({"evaluation": summary, "seconds": round(time.perf_counter() - t0, 1)})
            return 0

        if args.command == "hack":
            rm, rm_report = get_rm()
            t0 = time.perf_counter()
            results = reward_hacking_demo(sft, rm, tokenizer, training_prompts(), kl_coefs=tuple(args.kl_coefs),
                                          steps=args.steps, lr=args.lr, prompts_per_step=args.prompts_per_step,
                                          seed=args.seed, train_blocks=args.train_blocks)
            report = {"reward_model": rm_report,
                      "hacking": {str(k): {kk: vv for kk, vv in v.items() if kk != "log"} for k, v in results.items()},
                      "seconds": round(time.perf_counter() - t0, 1), "command": command}
            dump(report)
            if args.json:
                report["logs"] = {str(k): [{kk: vv for kk, vv in e.items() if kk != "samples"} for e in v["log"]]
                                  for k, v in results.items()}
                atomic_write_text(args.json, json.dumps(report, indent=1, default=str) + "\n")
            return 0

        policy = copy.deepcopy(sft)
        t0 = time.perf_counter()
        if args.command == "ppo":
            rm, rm_report = get_rm()
            cfg = PPOConfig(**{k: getattr(args, k) for k in asdict(PPOConfig()) if k != "seed"}, seed=args.seed)
            t1 = time.perf_counter()
            log = ppo(policy, sft, rm, tokenizer, training_prompts(), cfg)
            train_report = {"reward_model": rm_report, "ppo": asdict(cfg),
                            "ppo_seconds": round(time.perf_counter() - t1, 1),
                            "ppo_cpu_seconds": log[-1]["cpu_seconds"],
                            "log": _log_summary(log, ("step", "reward", "kl", "rater", "length", "seconds"))}
        else:
            log = dpo(policy, sft, tokenizer, simulated_preferences("train"), steps=args.steps,
                      batch_size=args.batch_size, lr=args.lr, beta=args.beta, sft_weight=args.sft_weight,
                      train_blocks=args.train_blocks, seed=args.seed)
            train_report = {"dpo": {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                                    "beta": args.beta, "sft_weight": args.sft_weight,
                                    "train_blocks": args.train_blocks},
                            "dpo_seconds": round(time.perf_counter() - t0, 1),
                            "dpo_cpu_seconds": log[-1]["cpu_seconds"],
                            "log": _log_summary(log, ("step", "loss", "dpo_loss", "sft_loss", "accuracy",
                                                      "margin", "chosen_logp", "rejected_logp", "seconds"))}
        seconds = time.perf_counter() - t0
        # The checkpoint stores float16 weights: evaluate exactly those, so the figures
        # recorded with it are the shipped model's (a rounding changes which answers are drawn).
        with torch.no_grad():
            for p in policy.parameters():
                p.copy_(p.half().float())
        t2 = time.perf_counter()
        results = compare_models({args.command: policy}, sft, tokenizer, heldout, samples=args.eval_samples,
                                 seed=args.seed)
        evaluation = summarise(results)
        evaluation[args.command]["kl"] = round(kl_to_reference(policy, sft, tokenizer, [r["prompt"] for r in heldout],
                                                               seed=args.seed), 3)
        meta = {"kind": f"chat-{args.command}", "sft": str(args.sft), "seed": args.seed, **train_report,
                "train_seconds": round(seconds, 1), "evaluation": evaluation,
                "eval_seconds": round(time.perf_counter() - t2, 1), "device": str(device), "command": command}
        save_checkpoint(args.out, policy.cpu(), tokenizer, meta=meta, dtype=torch.float16)
        dump({k: v for k, v in meta.items() if k != "log"})
        for prompt, answer in results[args.command]["examples"]:
            print(f"{prompt!r} -> {answer!r}")
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
