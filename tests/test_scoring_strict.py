"""The strict scorer: an answer is right only when it gives the right fact and names no wrong
one (issue 15), and the per-task accuracy report built on it."""
import pytest

from course_lib import rlhf as R
from course_lib.rlhf import rater

RIGHT = [
    ("Who wrote the play King John?", "King John was written by William Shakespeare."),
    ("Who wrote King John?", "William Shakespeare."),
    ("Who wrote King John?", "Shakespeare wrote it."),
    ("Who wrote Hamlet?", "Shakespeare."),
    ("Who wrote Hamlet?", "Hamlet was written by William Shakespeare."),
    ("Who wrote Antony and Cleopatra?", "Antony and Cleopatra was written by William Shakespeare."),
    ("Who wrote Pericles?", "Pericles was written by William Shakespeare."),
    ("What is 3 plus 4?", "3 plus 4 is 7."),
    ("What is 3 plus 4?", "7"),
    ("What is 3 plus 4?", "The answer is 7."),
    ("What is 3 plus 4?", "3 + 4 = 7."),
    ("Add 2 and 0.", "2 plus 0 is 2."),
    ("Which play is Ophelia from?", "Ophelia is a character in Hamlet."),
    ("Which play is Macbeth from?", "Macbeth is a character in Macbeth."),
    ("Which play is Macbeth from?", "Macbeth."),
    ("Which play is Cleopatra from?", "Cleopatra is a character in Antony and Cleopatra."),
    ("Which play is Juliet from?", "Juliet is a character in Romeo and Juliet."),
    ("Which play is Juliet from?", "Romeo and Juliet."),
    ("Which play has Lear in it?", "Lear is a character in King Lear."),
    ("What is the plural of girl?", "The plural of girl is girls."),
    ("What is the plural of girl?", "Girls."),
    ("What is the plural of dress?", "The plural of dress is dresses."),
    ("What is the plural of sheep?", "The plural of sheep is sheep."),
    ("What is the plural of queen?", "The plural of queen is queens. But let me tell you about the stars."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
    ("What is the opposite of hot?", "Cold."),
    ("What is the opposite of heavy?", "The opposite of heavy is light."),
    ("What is the opposite of night?", "What a dull question. The opposite of night is day."),
]

WRONG = [
    # names another play beside the right author
    ("Who wrote the play King John?", "King Lear was written by William Shakespeare."),
    ("Who wrote Henry the Fifth?", "Henry the Eighth was written by William Shakespeare."),
    ("Who wrote Richard the Second?", "Richard the Third was written by William Shakespeare."),
    ("Who wrote King John?", "King John was written by Ben Jonson."),
    ("Who wrote King John?", "King John was written by William Shakespeare and Christopher Marlowe."),
    # another number beside (or instead of) the sum
    ("What is 3 plus 4?", "3 plus 6 is 2."),
    ("What is 3 plus 4?", "3 plus 6 is 7."),
    ("What is 3 plus 4?", "3 plus 4 is 7, or 8."),
    ("What is 3 plus 4?", "7 plus 3 is 4."),
    ("What is 3 plus 4?", "3 plus 4 is"),
    ("What is 1 + 5?", "1 plus 5 is 15."),
    ("What is 1 + 19?", "11 plus 17 is 19."),
    # another play, or a character from another play
    ("Which play is Ophelia from?", "Ophelia is a character in Othello."),
    ("Which play is Macbeth from?", "Macbeth is a character in Hamlet."),
    ("Which play is Macbeth from?", "Ophelia is a character in Macbeth."),
    ("Which play is Macbeth from?", "Macbeth is a character in Macbeth and Hamlet."),
    ("Which play is Macbeth from?", "Macbeth is a character."),
    ("Which play has Pericles in it?", "Pericles is a character in Cymbeline."),
    ("Which play has Lear in it?", "Lear is a character in Lear."),
    # the wrong form, or another word beside the right one
    ("What is the plural of girl?", "The plural of girl is boys."),
    ("What is the plural of girl?", "The plural of girl is girls, or boys."),
    ("What is the plural of girl?", "The plural of girl is girl."),
    ("What is the plural of girl?", "The plural of girl is girles."),
    ("What is the plural of sheep?", "The plural of sheep is sheeps."),
    ("What is the plural of field?", "The plural of fields are fair."),
    ("What is the plural of stone?", "The plural of star is stars."),
    ("What is the plural of mouse?", "The plural of mouse is mouses."),
    ("What is the opposite of hot?", "The opposite of hot is wet."),
    ("What is the opposite of hot?", "The opposite of hot is cold and dry."),
    # no single right answer, or nothing said
    ("Hello!", "Hello!"),
    ("What is 3 plus 4?", ""),
]


@pytest.mark.parametrize("prompt,answer", RIGHT)
def test_right_answers_in_several_phrasings_are_right(prompt, answer):
    assert R.is_correct(prompt, answer), R.rate(prompt, answer)
    assert "correct" in R.rate(prompt, answer)[1]


@pytest.mark.parametrize("prompt,answer", WRONG)
def test_traps_are_wrong(prompt, answer):
    assert not R.is_correct(prompt, answer), R.rate(prompt, answer)


def test_rate_gives_correctness_points_by_the_same_rule():
    for prompt, answer in RIGHT + WRONG:
        task, info = rater.classify_prompt(prompt)
        points, _ = rater._correctness(task, info, answer.strip(), rater._norm(answer.strip()))
        assert (points == rater.W_CORRECT) == R.is_correct(prompt, answer)
    # the example: right author, wrong play: the rater takes the correctness points away
    good = R.rate("Who wrote the play King John?", "King John was written by William Shakespeare.")[0]
    bad = R.rate("Who wrote the play King John?", "King Lear was written by William Shakespeare.")[0]
    assert good - bad == pytest.approx(rater.W_CORRECT - rater.W_WRONG)


def test_the_committed_references_are_right_and_their_spoiled_twins_wrong():
    for r in R.heldout_prompts():
        if r["scored"]:
            assert R.is_correct(r["prompt"], r["reference"]), r
    for q in R.seen_questions(60, seed=1):
        assert R.is_correct(q["prompt"], q["reference"]), q


def test_seen_questions_come_from_training_and_not_from_the_held_out_set():
    seen = R.seen_questions(40, seed=0)
    assert len(seen) == 40 and seen == R.seen_questions(40, seed=0)
    held = {r["prompt"] for r in R.heldout_prompts()}
    assert not held & {q["prompt"] for q in seen}
    assert {q["task"] for q in seen} <= {"arithmetic", "author", "character", "plural"}
    assert all(q["scored"] and q["answer"] for q in seen)
    with pytest.raises(ValueError):
        R.seen_questions(0)


def test_accuracy_by_task_report_shape(monkeypatch):
    from course_lib.rlhf import evaluation as E
    questions = [q for q in R.heldout_prompts() if q["scored"]]
    right = {q["prompt"]: q["reference"] for q in questions}

    def fake(model, tokenizer, prompts, samples=1, temperature=0.0, seed=0, max_new_tokens=48):
        # right on sums, wrong on everything else
        return [[right[p] if "plus" in right[p] or "+" in right[p] else "I do not know."] * samples
                for p in prompts]

    monkeypatch.setattr(E, "sample_answers", fake)
    report = E.accuracy_by_task(None, None, questions)
    tasks = {q["task"] for q in questions}
    assert set(report) == tasks | {"all", "answers"}
    assert len(report.pop("answers")) == len(questions)
    for task, row in report.items():
        assert set(row) >= {"right", "n", "accuracy", "se"}
        assert 0 <= row["accuracy"] <= 1 and row["se"] >= 0
    assert report["arithmetic"]["accuracy"] == 1.0 and report["author"]["accuracy"] == 0.0
    assert report["all"]["n"] == len(questions)
    assert report["all"]["right"] == report["arithmetic"]["right"]
    sampled = E.accuracy_by_task(None, None, questions, samples=3, temperature=1.0)
    assert sampled["all"]["n"] == 3 * len(questions)
    with pytest.raises(ValueError):
        E.accuracy_by_task(None, None, [])


def make_dialogues_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "make_dialogues.py"
    spec = importlib.util.spec_from_file_location("make_dialogues_for_test", path)
    md = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(md)
    return md


def test_correctness_pairs_reward_right_answers_and_keep_the_held_out_set_out():
    md = make_dialogues_module()
    pairs = md.correctness_pairs(n=300, committed_share=0)
    held = {r["prompt"] for r in R.heldout_prompts()}
    assert pairs and not held & {p["prompt"] for p in pairs}
    for p in pairs:
        assert R.compare(p["prompt"], p["chosen"], p["rejected"])["winner"] == "a"
        task, info = rater.classify_prompt(p["prompt"])
        if info.get("answer") is not None:
            assert R.is_correct(p["prompt"], p["chosen"]), p
    assert any(p["chosen"] == md.AUTHOR_PLAIN for p in pairs)


def test_the_sum_drill_teaches_right_answers_and_no_held_out_item():
    md = make_dialogues_module()
    drill = md.sum_drill_dialogues(n_other=200)
    held = [r for r in R.heldout_prompts()]
    held_prompts = {r["prompt"] for r in held}
    held_sums = {(r["reference"].split()[0], r["reference"].split()[2]) for r in held if r["task"] == "arithmetic"}
    sums = 0
    for d in drill:
        user, answer = (m["content"] for m in d["messages"])
        assert user not in held_prompts
        task, info = rater.classify_prompt(user)
        if task == "arithmetic":
            sums += 1
            assert (str(info["a"]), str(info["b"])) not in held_sums, user
        if info.get("answer") is not None:
            assert R.is_correct(user, answer), d
    assert sums == 201 * len(md.ARITHMETIC_Q) and len(drill) == sums + 200
