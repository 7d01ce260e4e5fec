"""Lessons 07-12's quizzes: the answer key agrees with the library, and each notebook asks every
predict-first prompt before it reveals it, holds its exit quiz, and marks its exercises."""
import json
import re

import pytest
import torch

from course_lib import induction, quiz, rlhf, scale
from course_lib.checkpoint import load_pretrained
from course_lib.optim import lr_at
from course_lib.paths import REPO_DIR
from course_lib.quiz.answers import ANSWERS

NOTEBOOKS = {"07": "07_the_whole_gpt", "08": "08_pretraining", "09": "09_scale", "10": "10_assistant",
             "11": "11_human_feedback", "12": "12_looking_inside"}


def sources(lesson):
    nb = json.loads((REPO_DIR / "notebooks" / f"{NOTEBOOKS[lesson]}.ipynb").read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def test_the_numeric_answers_are_what_the_library_computes():
    key = {lesson: ANSWERS[lesson] for lesson in NOTEBOOKS}
    count = scale.gpt_param_count
    assert key["07"]["q1"] == count(7, 256, 2048, 256) - count(6, 256, 2048, 256)  # one more block
    assert key["07"]["q2"] == count(6, 256, 4096, 256) - count(6, 256, 2048, 256)  # a bigger vocabulary
    assert key["08"]["q2"] == pytest.approx(torch.log(torch.tensor(88.0)).item())
    assert key["08"]["q3"] == pytest.approx(lr_at(625, 0.006, 0.0006, 50, 1200))
    assert key["09"]["q1"] == pytest.approx(scale.training_ops(1e9, 20e9))
    assert key["09"]["q2"] == pytest.approx(scale.reading_years(1e9))
    assert key["09"]["q3"] == pytest.approx(scale.reading_years(1e9, hours_per_day=8) / scale.reading_years(1e9))
    same = torch.zeros(1)
    assert key["11"]["q1"] == pytest.approx(rlhf.bradley_terry_loss(same, same).item())
    assert key["11"]["q2"] == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item())
    _, margins = rlhf.dpo_loss(torch.tensor([2.0]), torch.tensor([-3.0]), torch.zeros(1), torch.zeros(1), beta=0.1)
    assert key["11"]["q3"] == pytest.approx(margins.item())


def test_the_induction_and_neuron_answers():
    pattern = torch.zeros(1, 1, 1, 48, 48)  # (L, B, H, T, T): 24 tokens, then the same 24
    pattern[0, 0, 0, 30, ANSWERS["12"]["q2"]] = 1.0  # only query 30 attends, to the key in the answer
    score = induction.induction_scores(pattern, 24)
    assert score.item() == pytest.approx(1 / 24)  # it counts as induction: 1 of the 24 second-copy queries
    config = load_pretrained("shakespeare-bpe")[0].config
    assert ANSWERS["12"]["q5"] == config.n_layer * 4 * config.n_embd
    assert ANSWERS["07"]["q1"] == pytest.approx(12 * config.n_embd ** 2 + 13 * config.n_embd)


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
def test_every_prompt_is_asked_then_revealed_and_the_quiz_is_there(lesson):
    code = [src for kind, src in sources(lesson) if kind == "code"]
    module = quiz.core.lesson_module(lesson)
    assert 2 <= len(module.PREDICTIONS) <= 3
    for p in module.PREDICTIONS:
        asked = [i for i, src in enumerate(code) if f'quiz.predict("{lesson}", "{p.id}"' in src]
        shown = [i for i, src in enumerate(code) if f'quiz.reveal("{lesson}", "{p.id}"' in src]
        assert len(asked) == 1 and len(shown) == 1, f"lesson {lesson} {p.id}: asked {asked}, revealed {shown}"
        assert shown[0] >= asked[0] + 2, f"lesson {lesson} {p.id}: a computing cell must come between"
    assert quiz.answer_cell(lesson) in code, f"lesson {lesson}: the exit-quiz cell is missing or out of date"
    letters = {a for a in ANSWERS[lesson].values() if isinstance(a, str)}
    assert len(letters) > 1 or len(letters) == 0, f"lesson {lesson}: every choice answer is the same letter"


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
def test_every_exercise_heading_has_a_difficulty_and_a_time(lesson):
    headings = [line for kind, src in sources(lesson) if kind == "markdown" for line in src.splitlines()
                if line.startswith("#") and "Exercise" in line]
    assert headings, f"lesson {lesson} has no exercise heading"
    for line in headings:
        assert re.search(r"\((🟠|⚪){3} · about \d+ minutes\)$", line), f"lesson {lesson}: {line!r} has no mark"
