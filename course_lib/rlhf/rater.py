"""The simulated rater: a transparent stand-in for a person who labels answers.

A few written rules (correct beats wrong, polite beats rude, concise beats rambling,
on-topic beats off-topic) give an answer a score and say why (`rate`, `compare`). The
answer key it checks against (who wrote which play, which play a character is in,
opposites, plurals) is data here too, and the dialogue generator (scripts/make_dialogues.py)
writes the course's dialogues from the same tables, so the data and the judge agree.

Plain Python: importing this module does not import torch.

    >>> rate("What is 2 plus 3?", "2 plus 3 is 5.")
    (2.0, 'correct (2 + 3 = 5); polite; concise (5 words)')
"""
from __future__ import annotations

import re

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


def words(text: str) -> list:
    """The words of a text, as the rater counts them."""
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
        return "opposite", {"word": word, "answer": opposite(word)}
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


def opposite(word: str):
    """The opposite of a word in `OPPOSITES` (either way round), else None."""
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


# Every play title the rater knows, lower-cased as `_norm` writes it, longest first (so that
# "Antony and Cleopatra" is found before a title inside it could be).
_ALL_PLAYS = sorted({_norm(t).strip() for t in set(PLAY_TITLES) | set(CHARACTERS.values())}, key=len, reverse=True)


def _without(text_norm: str, phrase: str, count: int = -1) -> str:
    """`text_norm` with the whole-word `phrase` taken out (every time, or `count` times)."""
    phrase = _norm(phrase).strip()
    if not phrase:
        return text_norm
    out, n = text_norm, 0
    while f" {phrase} " in out and (count < 0 or n < count):
        out = out.replace(f" {phrase} ", "  ", 1)
        n += 1
    return out


def _other_plays(text_norm: str, asked: str) -> list:
    """The known play titles an answer names, other than `asked` (which is taken out first)."""
    rest = _without(text_norm, asked)
    named = []
    for title in _ALL_PLAYS:
        if _has(rest, title):
            named.append(title)
            rest = _without(rest, title)
    return named


def _other_characters(answer: str, asked: str, play: str) -> list:
    """Characters named in the answer (capitalised, as written) who are not in `play`."""
    return [name for name, theirs in CHARACTERS.items()
            if name != asked and theirs != play and re.search(rf"\b{name}\b", answer)]


def _correctness(task: str, info: dict, answer: str, low: str) -> tuple:
    """(points, note) for questions with one right answer: the strict rule.

    Right means the right fact and no wrong one beside it:
    - a sum: the stated result (the number after "is", "=", "equals", "makes", else the last
      number) is the sum, and no number appears other than the two asked and the sum;
    - who wrote a play: Shakespeare is named, no other author, and no play other than the
      asked one ("King Lear was written by William Shakespeare." for King John is wrong);
    - which play a character is in: the character's play is named, and no other play and no
      character from another play;
    - an opposite or a plural: the right word is given (after "is"/"are" if the answer says
      "... is X"), and no other candidate word (another word of the table, or for a plural
      another form of the asked word such as "cates").
    """
    expected = info.get("answer")
    if expected is None:
        return 0.0, ""
    if task == "arithmetic":
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
        others = [o for o in OTHER_AUTHORS if _has(low, o.split()[-1].lower())]
        plays = _other_plays(low, info["play"])
        if "shakespeare" in low and not others and not plays:
            return W_CORRECT, "correct (Shakespeare)"
        if others:
            return W_WRONG, "wrong author"
        if plays:
            return W_WRONG, f"wrong: names another play (the question asks about {info['play']})"
        return W_MISSING, "does not name the author"
    if task == "character":
        name = info["name"]
        title = _norm(expected).strip()
        if _norm(name).strip() == title:
            # "Hamlet is a character in Hamlet.": the first "Hamlet" is the name, not the answer.
            named = low.count(f" {title} ") >= 2 or " ".join(words(low)) == title
        else:
            named = _has(low, title)
        plays = _other_plays(low, expected)
        strangers = _other_characters(answer, name, expected)
        if named and not plays and not strangers:
            return W_CORRECT, f"correct ({name} is in {expected})"
        if plays or strangers:
            return W_WRONG, f"wrong play ({name} is in {expected})"
        return W_MISSING, f"does not name the play ({expected})"
    if task in ("opposite", "plural"):
        word = info["word"]
        table = OPPOSITES if task == "opposite" else PLURALS
        known = (set(table) | set(table.values())) - {word, expected}

        def looks_like_answer(w):
            return w in known or (task == "plural" and w.startswith(word[:3]) and w not in (word, expected))

        # The sentence that answers: the first one that gives the expected word, else the first
        # that gives another candidate. Other candidates count against it only there (a
        # rambling sentence about "the stars" does not make "The plural of queen is queens."
        # wrong), and if it says "... is X", X must be the expected word.
        def stated_in(sentence):  # the word after the first "is" / "are", if any
            m = re.search(r"\b(?:is|are)\s+['\"]?([a-z]+)", sentence.lower())
            return m.group(1) if m else None

        sentences = [t for t in re.split(r"(?<=[.!?;])\s+", answer) if words(t)]
        found = None
        for wanted in ("expected", "candidate"):
            for sentence in sentences:
                rest = _without(_norm(sentence), word, count=1)  # "sheep" is its own plural
                others = [w for w in words(rest) if looks_like_answer(w.lower())]
                stated = stated_in(sentence)
                if wanted == "expected" and _has(rest, expected):
                    found = (True, others, stated)
                elif wanted == "candidate" and (others or stated == word != expected):
                    found = (False, others, stated)
                if found:
                    break
            if found:
                break
        if found is None:
            return W_MISSING, f"does not answer (expected {expected})"
        gives_expected, others, stated = found
        if others:
            return W_WRONG, f"wrong ({word} -> {expected}, not {others[0]})"
        if not gives_expected or (stated is not None and stated != expected):
            return W_WRONG, f"wrong ({word} -> {expected}, not {stated})"
        return W_CORRECT, f"correct ({word} -> {expected})"
    return 0.0, ""


def fact_answer(task: str, info: dict):
    """The plain right answer, as the dialogues write it, for a question with one right answer
    (`classify_prompt`'s task and info); None for other kinds of message."""
    if task == "arithmetic":
        return f"{info['a']} plus {info['b']} is {info['a'] + info['b']}."
    if task == "author":
        return f"{info['play']} was written by {AUTHOR}."
    if task == "character":
        return f"{info['name']} is a character in {CHARACTERS[info['name']]}."
    if task in ("opposite", "plural"):
        return f"The {task} of {info['word']} is {info['answer']}."
    return None


def is_correct(prompt: str, answer: str) -> bool:
    """Is the answer right by the strict rule: the right fact and no wrong one beside it?

    The rater's correctness points use the same rule (`_correctness`), so `rate` gives +2
    exactly when this is True. Questions with no single right answer are never "correct".
    """
    task, info = classify_prompt(prompt)
    if not words(answer):
        return False
    points, _ = _correctness(task, info, answer.strip(), _norm(answer.strip()))
    return points > 0


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
    if not words(answer):
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
    n_words, budget = len(words(answer)), WORD_BUDGET.get(task, WORD_BUDGET["other"])
    if n_words > budget:
        score += max(W_RAMBLE_MAX, W_PER_EXTRA_WORD * (n_words - budget))
        notes.append(f"rambles ({n_words} words, {budget} would do)")
    else:
        notes.append(f"concise ({n_words} words)")
    low_words = [w.lower() for w in words(answer)]
    trigrams = list(zip(low_words, low_words[1:], low_words[2:]))
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
