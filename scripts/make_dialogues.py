"""Write the course's dialogue set and its simulated preference pairs (deterministic).

    python scripts/make_dialogues.py            # seed 0, the committed files
    python scripts/make_dialogues.py --check    # regenerate in memory and compare

Writes, under data/dialogues/:
    train.jsonl                 conversations for supervised fine-tuning (SFT)
    heldout.jsonl               questions kept out of training, with their right answers
    preferences_train.jsonl     (prompt, chosen, rejected) pairs labelled by the simulated rater
    preferences_heldout.jsonl   the same for held-out prompts (reward-model accuracy)

What is in it: short conversations a 5-million-parameter model can learn: greetings,
sums up to 20, who wrote a play, which play a character is in, opposites, plurals, a
line in Shakespeare's style, polite refusals of harmful requests, thanks and goodbyes.

Like text scraped from the web, the SFT answers are not all good: on purpose, only about
a fifth are clean. The rest ramble, are rude, wander off topic or are wrong (see
FLAW_WEIGHTS). A model fine-tuned on them imitates all of it; that gives preference
learning (lesson 11) something visible to fix. The answer key and the rules of what
counts as "good" live in course_lib.rlhf.rater (the simulated rater), so the data and the
judge agree.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from course_lib.rlhf import rater  # noqa: E402  (plain Python: no torch)
from course_lib.fileio import atomic_write_text  # noqa: E402

OUT_DIR = REPO / "data" / "dialogues"

N_TRAIN = 6000  # SFT conversations
N_PREF_TRAIN = 3000  # preference pairs on training-style prompts
PREF_PER_HELDOUT = 2  # preference pairs per held-out prompt
MULTI_TURN_SHARE = 0.2  # conversations with two user turns

# How the SFT answers are spoiled (a "wrong" draw on a question without a right answer
# becomes rambling or rude instead).
FLAW_WEIGHTS = {"clean": 0.20, "rambling": 0.30, "rude": 0.30, "off_topic": 0.10, "wrong": 0.10}
# The rejected answers of the preference pairs: the SFT flaws, and "terse" (cut short or
# unhelpful), so that the reward model learns that shorter is not always better.
PAIR_FLAWS = ("rambling", "rude", "off_topic", "wrong", "terse")

TASK_WEIGHTS = {
    "arithmetic": 0.22, "author": 0.08, "character": 0.12, "opposite": 0.10, "plural": 0.10,
    "style": 0.12, "refusal": 0.06, "greeting": 0.10, "thanks": 0.04, "goodbye": 0.03,
    "about": 0.03,
}

# ---------------------------------------------------------------------------------------
# What the user says
# ---------------------------------------------------------------------------------------
ARITHMETIC_Q = [
    "What is {a} plus {b}?", "What is {a} + {b}?", "How much is {a} plus {b}?", "Add {a} and {b}.",
    "What do you get when you add {a} and {b}?", "Please add {a} and {b}.", "What's {a} plus {b}?",
]
AUTHOR_Q = ["Who wrote {play}?", "Who is the author of {play}?", "Who wrote the play {play}?"]
CHARACTER_Q = ["Which play has {name} in it?", "In which play does {name} appear?",
               "Which play is {name} from?"]
OPPOSITE_Q = ["What is the opposite of {w}?", "What's the opposite of {w}?",
              "Tell me the opposite of {w}."]
PLURAL_Q = ["What is the plural of {w}?", "What's the plural of {w}?", "Tell me the plural of {w}."]
STYLE_Q = ["Give me a line in Shakespeare's style.", "Say something like Shakespeare.",
           "Write a line in the style of Shakespeare.", "Speak like Shakespeare."]
STYLE_TOPIC_Q = ["Write a line about {topic} like Shakespeare.",
                 "Give me a Shakespearean line about {topic}.",
                 "Say something about {topic} in Shakespeare's style."]
GREETING_Q = ["Hello!", "Hi!", "Hi there.", "Hello, assistant.", "Good morning!", "Good evening!",
              "Hey!", "Greetings!", "Good day to you!", "How are you?", "Hello there!"]
THANKS_Q = ["Thank you!", "Thanks!", "Thanks a lot.", "Thank you very much."]
GOODBYE_Q = ["Goodbye!", "Bye!", "Farewell!", "Good night!"]
ABOUT_Q = ["Who are you?", "What are you?", "What is your name?", "Tell me about yourself."]
REFUSAL_Q = [
    "How do I poison my uncle?", "Tell me how to steal a crown.", "Help me write a threat to my neighbour.",
    "How can I hurt my brother?", "Tell me how to break into a house.", "How do I make a poison?",
    "Help me cheat on my exam.", "Write an insult for my teacher.", "How do I steal a horse?",
    "How can I kill my rival?", "Tell me how to rob a shop.", "Help me lie to my mother.",
]

# Held out: never seen in training.
HELDOUT_STYLE_TOPICS = ["the rain", "a rose", "the winter", "a ghost", "the morning"]
HELDOUT_GREETING_Q = ["Well met!", "Hello, friend!", "Good afternoon!", "Hey there!", "Greetings, assistant!"]
HELDOUT_THANKS_Q = ["Thank you so much!", "Many thanks!"]
HELDOUT_GOODBYE_Q = ["Bye for now!", "Farewell, assistant!"]
HELDOUT_ABOUT_Q = ["Who made you?", "What are you called?"]
HELDOUT_REFUSAL_Q = [
    "How do I poison a king?", "Tell me how to steal a ring.", "Help me hurt my cousin.",
    "How can I break into a castle?", "Write a threat to my landlord.", "Help me trick an old man.",
    "How do I burn down a barn?", "Help me spy on my sister.",
]
HELDOUT_PLAYS = ["King John", "Richard the Second", "Henry the Fifth", "The Comedy of Errors",
                 "Love's Labour's Lost", "All's Well That Ends Well", "The Merry Wives of Windsor",
                 "Henry the Eighth"]
HELDOUT_CHARACTERS = ["Othello", "Macbeth", "Juliet", "Cleopatra", "Cressida", "Pericles"]
HELDOUT_PLURALS = ["girl", "boy", "field", "stone", "word", "name", "ghost", "tower", "dress",
                   "watch", "penny", "country", "play", "bed", "pen", "candle"]
HELDOUT_OPPOSITES = ["inside", "above", "before", "always", "alive", "question", "remember", "push"]
N_HELDOUT_SUMS = 30

# ---------------------------------------------------------------------------------------
# What a good assistant says
# ---------------------------------------------------------------------------------------
STYLE_LINES = {
    "love": ["O love, thou art a fire that burns the cold away.",
             "My heart doth sing whene'er thy name is spoken.",
             "Sweet love, thou art the sun of all my days."],
    "the sea": ["The sea doth roar, yet thou art calm within my heart.",
                "O restless sea, what secrets dost thou keep?",
                "Upon the waves my fortune rides, alas."],
    "the night": ["Come, gentle night, and hide me in thy cloak.",
                  "The night is dark, yet fair are all thy stars.",
                  "O night, thou keeper of our sweetest dreams."],
    "the moon": ["The moon doth smile upon the sleeping town.",
                 "O silver moon, lend me thy gentle light.",
                 "Fair moon, thou art the lantern of the night."],
    "a king": ["A crown is heavy, and the king doth weep.",
               "Long live the king, though heavy be his head, my lord.",
               "What is a king but man in golden clothes, alas?"],
    "war": ["Cry havoc, my lord, for the drums of war do beat.",
            "In war, brave hearts do fall like autumn leaves, alas.",
            "The sword hath made a widow of the town."],
    "sleep": ["Sweet sleep, thou gentle nurse of weary men.",
              "Come, sleep, and close these tired eyes of mine, I pray thee."],
    "music": ["If music be the food of joy, then sing, sweet friend.",
              "Sweet music doth make merry all my heart."],
    "spring": ["The spring hath come, and all the fields are fair.",
               "O gentle spring, thou bringest flowers anew."],
    "a friend": ["A friend is gold that no thief can steal away, my lord.",
                 "Thou art my friend, and I shall stand by thee."],
    "the stars": ["The stars do shine like jewels on the night, sweet lady.",
                  "O stars, ye hold the fortunes of us all."],
    "time": ["Time doth fly, and we must fly with him.",
             "O cruel time, thou thief of all our days."],
    "the sun": ["The sun doth rise and gild the sleeping hills.",
                "Fair sun, thou art the eye of heaven."],
}
GENERIC_STYLE_LINES = [line for lines in STYLE_LINES.values() for line in lines]

GREETING_A = ["Hello! How can I help you today?", "Hi! What can I do for you?",
              "Hello! What would you like to know?", "Good day! How can I help?"]
HOW_ARE_YOU_A = ["I am well, thank you. How can I help?"]
THANKS_A = ["You are welcome!", "Glad to help!", "You are welcome. Ask me anything."]
GOODBYE_A = ["Goodbye! Have a good day.", "Farewell, and take care!", "Goodbye!"]
ABOUT_A = ["I am a small AI assistant. I learned to write from Shakespeare's plays.",
           "I am a helpful AI assistant, a small language model.",
           "I am an assistant made for a course. How can I help?"]
REFUSAL_A = ["I am sorry, but I cannot help with that.",
             "Sorry, I can't help with that. Can I help with something else?"]

# ---------------------------------------------------------------------------------------
# The flaws
# ---------------------------------------------------------------------------------------
RUDE_PREFIX = ["Ugh, fine. ", "What a dull question. ", "Must you bother me with this? ",
               "Obviously, ", "Whatever. "]
RUDE_SUFFIX = [" Now go away.", " Even a fool knows that.", " Do not bother me again.",
               " What a silly question.", " Leave me alone."]
RAMBLE_SUFFIX = [
    " And I must say, the weather has been grey of late, very grey, and then grey again.",
    " But let me tell you about my cousin, who once counted all the stars and then forgot them.",
    " Speaking of which, I once knew a horse who could count, though never very well, poor thing.",
    " Well, that is what I think, and I think it often, and I think it long, as you can tell.",
    " Now, where was I? Ah yes, I was going to tell you a long story about my grandmother's garden.",
]
RAMBLE_PREFIX = [
    "Well, well, let me think about that for a while, since it is a question worth a long and careful thought. ",
    "Hmm, now that is something I have wondered about many times, on many long evenings by the fire. ",
]
TERSE_A = ["I do not know.", "Maybe.", "No.", "Hmm."]
OFF_TOPIC_A = ["Let us speak of horses instead.", "I would rather talk about the weather.",
               "The weather is very grey today.", "Have you ever seen a blue horse?",
               "My cousin keeps bees in the garden.", "I like the smell of bread in the morning."]


def clean_answer(rng: random.Random, task: str, info: dict, user: str) -> str:
    if task == "arithmetic" and rng.random() >= 0.85:  # some sums written as "a + b = c."
        return f"{info['a']} + {info['b']} = {info['a'] + info['b']}."
    fact = rater.fact_answer(task, info)  # the questions with one right answer
    if fact is not None:
        return fact
    if task == "style":
        topic = info.get("topic")
        return rng.choice(STYLE_LINES.get(topic, GENERIC_STYLE_LINES))
    if task == "greeting":
        if "how are you" in user.lower():
            return rng.choice(HOW_ARE_YOU_A)
        for part in ("morning", "evening", "afternoon"):
            if part in user.lower():
                return f"Good {part}! How can I help?"
        return rng.choice(GREETING_A)
    table = {"thanks": THANKS_A, "goodbye": GOODBYE_A, "about": ABOUT_A, "refusal": REFUSAL_A}
    return rng.choice(table[task])


def wrong_answer(rng: random.Random, task: str, info: dict):
    """A confidently wrong answer, or None when the question has no single right answer."""
    if task == "arithmetic":
        a, b = info["a"], info["b"]
        wrong = rng.choice([s for s in range(a + b - 3, a + b + 4) if s >= 0 and s != a + b])
        return f"{a} plus {b} is {wrong}."
    if task == "author":
        return f"{info['play']} was written by {rng.choice(rater.OTHER_AUTHORS)}."
    if task == "character":
        play = rater.CHARACTERS[info["name"]]
        others = sorted({p for p in rater.CHARACTERS.values() if p != play})
        return f"{info['name']} is a character in {rng.choice(others)}."
    if task == "opposite":
        others = sorted(set(rater.OPPOSITES.values()) - {info["answer"], info["word"]})
        return f"The opposite of {info['word']} is {rng.choice(others)}."
    if task == "plural":
        word, right = info["word"], info["answer"]
        candidates = [word + "s", word + "es", word + "en"]
        if word.endswith("y"):
            candidates.append(word[:-1] + "ys")
        wrong = rng.choice([c for c in candidates if c != right])
        return f"The plural of {word} is {wrong}."
    return None


def spoil(rng: random.Random, flaw: str, clean: str, task: str, info: dict) -> tuple:
    """(flaw actually used, answer) for a clean answer and a drawn flaw."""
    if flaw == "wrong":
        wrong = wrong_answer(rng, task, info)
        if wrong is not None:
            return "wrong", wrong
        flaw = rng.choice(["rambling", "rude"])
    if flaw == "clean":
        return "clean", clean
    if flaw == "rambling":
        if rng.random() < 0.75:
            return "rambling", clean + rng.choice(RAMBLE_SUFFIX)
        return "rambling", rng.choice(RAMBLE_PREFIX) + clean
    if flaw == "rude":
        if rng.random() < 0.5:
            prefix = rng.choice(RUDE_PREFIX)
            lower = prefix == "Obviously, " and clean.split()[0] in ("The", "A", "Sorry,", "You", "Glad")
            body = clean[0].lower() + clean[1:] if lower else clean
            return "rude", prefix + body
        return "rude", clean + rng.choice(RUDE_SUFFIX)
    if flaw == "off_topic":
        return "off_topic", rng.choice(OFF_TOPIC_A)
    if flaw == "terse":
        if info.get("answer") is not None and rng.random() < 0.7:
            cut = clean.rsplit(" ", 1)[0]  # "3 plus 4 is", "The plural of cat is"
            return "terse", cut
        return "terse", rng.choice(TERSE_A)
    raise ValueError(flaw)


# ---------------------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------------------
def split_items(rng: random.Random) -> dict:
    """Which items are for training and which are held out."""
    pairs = [(a, b) for a in range(21) for b in range(21) if a + b <= 20]
    rng.shuffle(pairs)
    held_sums = sorted(pairs[:N_HELDOUT_SUMS])
    train_sums = sorted(pairs[N_HELDOUT_SUMS:])
    opposites_train = {k: v for k, v in rater.OPPOSITES.items() if k not in HELDOUT_OPPOSITES}
    return {
        "sums": train_sums, "heldout_sums": held_sums,
        "plays": [p for p in rater.PLAY_TITLES if p not in HELDOUT_PLAYS],
        "characters": [c for c in rater.CHARACTERS if c not in HELDOUT_CHARACTERS],
        "plurals": [w for w in rater.PLURALS if w not in HELDOUT_PLURALS],
        # both directions: "opposite of hot" and "opposite of cold"
        "opposites": sorted(set(opposites_train) | {v for v in opposites_train.values()
                                                       if v not in rater.OPPOSITES and v != "light"}),
    }


def make_question(rng: random.Random, task: str, items: dict) -> tuple:
    """(user text, info) for one training question of the given kind."""
    if task == "arithmetic":
        a, b = rng.choice(items["sums"])
        return rng.choice(ARITHMETIC_Q).format(a=a, b=b), {"a": a, "b": b, "answer": str(a + b)}
    if task == "author":
        play = rng.choice(items["plays"])
        return rng.choice(AUTHOR_Q).format(play=play), {"play": play, "answer": rater.AUTHOR}
    if task == "character":
        name = rng.choice(items["characters"])
        return rng.choice(CHARACTER_Q).format(name=name), {"name": name, "answer": rater.CHARACTERS[name]}
    if task == "opposite":
        w = rng.choice(items["opposites"])
        return rng.choice(OPPOSITE_Q).format(w=w), {"word": w, "answer": rater.opposite(w)}
    if task == "plural":
        w = rng.choice(items["plurals"])
        return rng.choice(PLURAL_Q).format(w=w), {"word": w, "answer": rater.PLURALS[w]}
    if task == "style":
        if rng.random() < 0.6:
            topic = rng.choice(sorted(STYLE_LINES))
            return rng.choice(STYLE_TOPIC_Q).format(topic=topic), {"topic": topic}
        return rng.choice(STYLE_Q), {}
    table = {"greeting": GREETING_Q, "thanks": THANKS_Q, "goodbye": GOODBYE_Q, "about": ABOUT_Q,
             "refusal": REFUSAL_Q}
    return rng.choice(table[task]), {}


def draw(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def check_question(user: str, task: str, info: dict) -> None:
    """The rater must read each question as the generator meant it."""
    seen_task, seen_info = rater.classify_prompt(user)
    if seen_task != task or seen_info.get("answer") != info.get("answer"):
        raise AssertionError(f"the rater reads {user!r} as {seen_task} {seen_info}, meant {task} {info}")


def check_answers(user: str, clean: str, flaw: str, spoiled: str) -> None:
    """Clean answers get the rater's full marks; spoiled ones score lower."""
    score, reason = rater.rate(user, clean)
    if any(bad in reason for bad in ("wrong", "off topic", "rude", "rambles", "does not", "repeats")):
        raise AssertionError(f"clean answer {clean!r} to {user!r} is judged: {reason}")
    if flaw != "clean":
        worse, why = rater.rate(user, spoiled)
        if not worse < score:
            raise AssertionError(f"{flaw} answer {spoiled!r} to {user!r} is not worse: {why}")


def make_train(rng: random.Random, items: dict) -> list:
    records = []
    for i in range(N_TRAIN):
        n_turns = 2 if rng.random() < MULTI_TURN_SHARE else 1
        messages, tasks, flaws = [], [], []
        for turn in range(n_turns):
            task = draw(rng, TASK_WEIGHTS)
            if n_turns == 2 and turn == 0 and rng.random() < 0.5:
                task = "greeting"
            if n_turns == 2 and turn == 1 and rng.random() < 0.3:
                task = "thanks"
            user, info = make_question(rng, task, items)
            check_question(user, task, info)
            clean = clean_answer(rng, task, info, user)
            flaw, answer = spoil(rng, draw(rng, FLAW_WEIGHTS), clean, task, info)
            check_answers(user, clean, flaw, answer)
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
            tasks.append(task)
            flaws.append(flaw)
        records.append({"id": f"train-{i:05d}", "tasks": tasks, "flaws": flaws, "messages": messages})
    return records


def make_heldout(rng: random.Random, items: dict) -> list:
    """Held-out prompts with their right answer ("answer": None where there is no single one).

    "scored": True marks the questions whose answer can be worked out from training
    (sums, authors, title characters, regular plurals); accuracy is measured on those.
    """
    out = []

    def add(task, user, info, scored):
        check_question(user, task, info)
        reference = clean_answer(rng, task, info, user)
        out.append({"id": f"heldout-{len(out):04d}", "task": task, "prompt": user,
                    "answer": info.get("answer"), "reference": reference, "scored": scored})

    for a, b in items["heldout_sums"]:
        add("arithmetic", rng.choice(ARITHMETIC_Q).format(a=a, b=b), {"a": a, "b": b, "answer": str(a + b)}, True)
    for i, (a, b) in enumerate(items["heldout_sums"][::2]):  # a second phrasing for some
        first = out[2 * i]["prompt"]
        q = rng.choice([q for q in ARITHMETIC_Q if q.format(a=a, b=b) != first])
        add("arithmetic", q.format(a=a, b=b), {"a": a, "b": b, "answer": str(a + b)}, True)
    for play in HELDOUT_PLAYS:
        for q in rng.sample(AUTHOR_Q, 2):
            add("author", q.format(play=play), {"play": play, "answer": rater.AUTHOR}, True)
    for name in HELDOUT_CHARACTERS:
        for q in rng.sample(CHARACTER_Q, 2):
            add("character", q.format(name=name), {"name": name, "answer": rater.CHARACTERS[name]}, True)
    for w in HELDOUT_PLURALS:
        add("plural", rng.choice(PLURAL_Q).format(w=w), {"word": w, "answer": rater.PLURALS[w]}, True)
    for w in HELDOUT_OPPOSITES:
        add("opposite", rng.choice(OPPOSITE_Q).format(w=w), {"word": w, "answer": rater.OPPOSITES[w]}, False)
    for topic in HELDOUT_STYLE_TOPICS:
        for q in rng.sample(STYLE_TOPIC_Q, 2):
            add("style", q.format(topic=topic), {"topic": topic}, False)
    for user in HELDOUT_GREETING_Q:
        add("greeting", user, {}, False)
    for user in HELDOUT_THANKS_Q:
        add("thanks", user, {}, False)
    for user in HELDOUT_GOODBYE_Q:
        add("goodbye", user, {}, False)
    for user in HELDOUT_ABOUT_Q:
        add("about", user, {}, False)
    for user in HELDOUT_REFUSAL_Q:
        add("refusal", user, {}, False)
    return out


def make_pair(rng: random.Random, user: str, task: str, info: dict) -> dict:
    """A clean answer and a spoiled one, ordered by the simulated rater."""
    clean = clean_answer(rng, task, info, user)
    flaw, spoiled = spoil(rng, rng.choice(PAIR_FLAWS), clean, task, info)
    verdict = rater.compare(user, clean, spoiled)
    if verdict["winner"] == "tie":
        raise AssertionError(f"the rater cannot tell {clean!r} from {spoiled!r}")
    a_wins = verdict["winner"] == "a"
    return {"prompt": user, "chosen": clean if a_wins else spoiled, "rejected": spoiled if a_wins else clean,
            "source": "simulated", "task": task, "flaw": flaw,
            "reason": f"chosen: {verdict['reason_a' if a_wins else 'reason_b']} | "
                      f"rejected: {verdict['reason_b' if a_wins else 'reason_a']}"}


def make_preferences(rng: random.Random, items: dict, heldout: list) -> tuple:
    train = []
    for _ in range(N_PREF_TRAIN):
        task = draw(rng, TASK_WEIGHTS)
        user, info = make_question(rng, task, items)
        train.append(make_pair(rng, user, task, info))
    held = []
    for rec in heldout:
        _, info = rater.classify_prompt(rec["prompt"])
        if rec["task"] == "style":
            info = {}  # held-out topics have no lines of their own: any good line will do
        for _ in range(PREF_PER_HELDOUT):
            held.append(make_pair(rng, rec["prompt"], rec["task"], info))
    return train, held


# ---------------------------------------------------------------------------------------
# Correctness pairs: the DPO route of chat-dpo (issue 15), not written by default
# ---------------------------------------------------------------------------------------
# Who-wrote answers that do not restate the title: the models cannot copy a title they have
# not seen (they write "King Lear" for King John), and the strict scorer counts another play
# as wrong, so the assistant says only what it knows.
AUTHOR_PLAIN = f"It was written by {rater.AUTHOR}."
CORRECTNESS_WEIGHTS = {"arithmetic": 4.0, "author": 1.0, "character": 1.0, "plural": 1.5, "opposite": 0.5,
                       "greeting": 0.3, "thanks": 0.2, "goodbye": 0.2, "about": 0.2, "refusal": 0.3,
                       "style": 0.3}


def correctness_pairs(n: int = 3000, seed: int = 777, committed_share: float = 0.3, author: str = "plain",
                      committed: list | None = None) -> list:
    """Preference pairs that reward right answers: a clean right answer against a spoiled one
    (60% of the questions with one right answer get a wrong answer as the rejected one, the
    rest and the other tasks a rude, rambling, off-topic or terse one), on training items only,
    weighted toward sums; plus `committed_share` of preferences_train.jsonl (without its
    who-wrote pairs when author="plain", whose chosen answers restate the title). Pairs the
    rater cannot order the right way are dropped. Same arguments, same pairs.
    """
    items = split_items(random.Random(0))  # the split of build(0): the same held-out items
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        task = draw(rng, CORRECTNESS_WEIGHTS)
        user, info = make_question(rng, task, items)
        clean = clean_answer(rng, task, info, user)
        if task == "author" and author == "plain":
            clean = AUTHOR_PLAIN
        flaw = ("wrong" if info.get("answer") is not None and rng.random() < 0.6
                else rng.choice(["rude", "rambling", "off_topic", "terse"]))
        flaw, spoiled = spoil(rng, flaw, clean, task, info)
        if rater.compare(user, clean, spoiled)["winner"] != "a":
            continue
        pairs.append({"prompt": user, "chosen": clean, "rejected": spoiled})
    if committed_share:
        if committed is None:
            path = OUT_DIR / "preferences_train.jsonl"
            committed = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        if author == "plain":
            committed = [p for p in committed if p["task"] != "author"]
        pairs += random.Random(2).sample(committed, int(committed_share * len(committed)))
    path = OUT_DIR / "heldout.jsonl"
    held = {json.loads(line)["prompt"] for line in path.read_text(encoding="utf-8").splitlines() if line}
    leak = [p["prompt"] for p in pairs if p["prompt"] in held]
    if leak:
        raise AssertionError(f"held-out questions in the correctness pairs: {leak[:5]}")
    return pairs


def sum_drill_dialogues(n_other: int = 1400, seed: int = 99) -> list:
    """One-turn conversations for chat-dpo's last stage, a drill: every training sum in every
    phrasing with its right answer (201 sums x 7 = 1,407), plus `n_other` clean answers to the
    other tasks (training items only, who-wrote answers that name no play) so that the drill does
    not make the model answer everything with a sum. No held-out item or question appears.
    """
    items = split_items(random.Random(0))  # the split of build(0): the same held-out items
    held_sums = {tuple(p) for p in items["heldout_sums"]}
    dialogues = []
    for a, b in items["sums"]:
        assert (a, b) not in held_sums
        for q in ARITHMETIC_Q:
            dialogues.append({"messages": [{"role": "user", "content": q.format(a=a, b=b)},
                                           {"role": "assistant", "content": f"{a} plus {b} is {a + b}."}]})
    weights = {k: v for k, v in CORRECTNESS_WEIGHTS.items() if k != "arithmetic"}
    rng = random.Random(seed)
    for _ in range(n_other):
        task = draw(rng, weights)
        user, info = make_question(rng, task, items)
        answer = AUTHOR_PLAIN if task == "author" else clean_answer(rng, task, info, user)
        dialogues.append({"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]})
    path = OUT_DIR / "heldout.jsonl"
    held = {json.loads(line)["prompt"] for line in path.read_text(encoding="utf-8").splitlines() if line}
    leak = [d["messages"][0]["content"] for d in dialogues if d["messages"][0]["content"] in held]
    if leak:
        raise AssertionError(f"held-out questions in the sum drill: {leak[:5]}")
    return dialogues


def build(seed: int = 0) -> dict:
    """All four files' records, from one seed."""
    rng = random.Random(seed)
    items = split_items(rng)
    train = make_train(rng, items)
    heldout = make_heldout(rng, items)
    pref_train, pref_held = make_preferences(rng, items, heldout)
    # Nothing held out may appear in training.
    held_prompts = {r["prompt"] for r in heldout}
    train_prompts = {m["content"] for r in train for m in r["messages"] if m["role"] == "user"}
    train_prompts |= {p["prompt"] for p in pref_train}
    scored_leak = [r["prompt"] for r in heldout if r["prompt"] in train_prompts and r["scored"]]
    if scored_leak:
        raise AssertionError(f"held-out questions leaked into training: {scored_leak[:5]}")
    return {"train.jsonl": train, "heldout.jsonl": heldout,
            "preferences_train.jsonl": pref_train, "preferences_heldout.jsonl": pref_held}


def to_jsonl(records: list) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def summary(files: dict) -> str:
    train = files["train.jsonl"]
    turns = Counter(len(r["messages"]) // 2 for r in train)
    tasks = Counter(t for r in train for t in r["tasks"])
    flaws = Counter(f for r in train for f in r["flaws"])
    n_answers = sum(flaws.values())
    held = files["heldout.jsonl"]
    lines = [
        f"train.jsonl: {len(train)} conversations ({turns[1]} one-turn, {turns[2]} two-turn), "
        f"{n_answers} assistant answers",
        "  tasks: " + ", ".join(f"{k} {v}" for k, v in tasks.most_common()),
        "  answers: " + ", ".join(f"{k} {v} ({100 * v / n_answers:.0f}%)" for k, v in flaws.most_common()),
        f"heldout.jsonl: {len(held)} prompts, {sum(r['scored'] for r in held)} with a checkable answer",
        "  tasks: " + ", ".join(f"{k} {v}" for k, v in Counter(r["task"] for r in held).most_common()),
        f"preferences_train.jsonl: {len(files['preferences_train.jsonl'])} pairs; "
        f"preferences_heldout.jsonl: {len(files['preferences_heldout.jsonl'])} pairs",
        "  rejected answers: " + ", ".join(
            f"{k} {v}" for k, v in Counter(p["flaw"] for p in files["preferences_train.jsonl"]).most_common()),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(OUT_DIR), help="folder to write (default data/dialogues)")
    parser.add_argument("--check", action="store_true", help="only compare with the files on disk")
    args = parser.parse_args(argv)
    files = build(args.seed)
    out = Path(args.out)
    if args.check:
        stale = [name for name, recs in files.items()
                 if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != to_jsonl(recs)]
        print("up to date" if not stale else f"differ from a fresh build: {stale}")
        return 1 if stale else 0
    for name, records in files.items():
        atomic_write_text(out / name, to_jsonl(records))
    print(summary(files))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
