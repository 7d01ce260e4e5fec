"""The checkers of lessons 07-09 reject typical wrong answers with a message that says
what is wrong (without the answer). What every checker promises (the reference passes, an
unfinished exercise or a crash is reported) is tested in test_exercise_checkers.py."""
import math

import pytest
import torch

from checker_helpers import verdict
from course_lib import scale
from course_lib.exercises import lesson07, lesson08, lesson09
from course_lib.exercises.solutions import lesson07 as sol07, lesson08 as sol08, lesson09 as sol09
from course_lib.model import GPT, Block, GPTConfig
from course_lib.optim import lr_at

pytestmark = pytest.mark.usefixtures("learner_mode")


ALL_CHECKS = [
    (lesson07.check_block_params, sol07.block_params_solution),
    (lesson07.check_gpt_params, sol07.gpt_params_solution),
    (lesson08.check_lr_schedule, sol08.lr_schedule_solution),
    (lesson09.check_reading_years, sol09.reading_years_solution),
    (lesson09.check_training_years, sol09.training_years_solution),
]
IDS = [check.__name__ for check, _ in ALL_CHECKS]


@pytest.mark.parametrize("check", [c for c, _ in ALL_CHECKS], ids=IDS)
def test_a_non_number_is_explained(check, capsys):
    ok, out = verdict(check, lambda *args: "many", capsys)
    assert not ok
    assert "should return a number" in out


# -- lesson 07 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong,expected", [
    (lambda d: 12 * d * d, "every linear layer also has a bias"),
    (lambda d: 12 * d * d + 9 * d, "the two layer norms have weights too"),
    (lambda d: 12 * d * d + 4 * d, "each linear layer also has a bias"),
    (lambda d: 4 * d * d + 4 * d, "only one of the two sub-layers"),
    (lambda d: 12 * d * d + 11 * d, "2 × n_embd short"),
    (lambda d: 16 * d * d, "A layer from a to b has a × b weights plus b biases"),
    (lambda d: d * d + 0.5, "not a whole number"),
])
def test_block_params_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson07.check_block_params, wrong, capsys)
    assert not ok
    assert expected in out
    assert "12 d² + 13 d" not in out and "13 d" not in out  # the formula is not given away


def _gpt(extra):
    def count(n_layer, n_embd, vocab_size, block_size):
        return sol07.gpt_params_solution(n_layer, n_embd, vocab_size, block_size) + extra(
            n_layer, n_embd, vocab_size, block_size)
    return count


@pytest.mark.parametrize("wrong,expected", [
    (_gpt(lambda L, d, V, T: V * d), "weight tying"),
    (_gpt(lambda L, d, V, T: -V * d), "token embedding table"),
    (_gpt(lambda L, d, V, T: -T * d), "position embedding table"),
    (_gpt(lambda L, d, V, T: -2 * d), "final layer norm"),
    (_gpt(lambda L, d, V, T: -sol07.block_params_solution(d)), "whole blocks"),
    (_gpt(lambda L, d, V, T: 7), "off by +7"),
])
def test_gpt_params_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson07.check_gpt_params, wrong, capsys)
    assert not ok
    assert expected in out


@pytest.mark.parametrize("d", [8, 64, 256])
def test_block_params_solution_counts_the_library_block(d):
    block = Block(GPTConfig(n_embd=d, n_head=2))
    assert sol07.block_params_solution(d) == sum(p.numel() for p in block.parameters())


def test_gpt_params_solution_matches_library_and_scale():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=3, n_head=2, n_embd=32))
    assert sol07.gpt_params_solution(3, 32, 50, 16) == model.num_params()
    # GPT-3's settings: the reference, the library's formula and the checker's real count agree.
    expected = scale.gpt_param_count(96, 12288, 50257, 2048)
    assert sol07.gpt_params_solution(96, 12288, 50257, 2048) == expected
    assert lesson07._real_gpt(96, 12288, 50257, 2048) == expected


# -- lesson 08 ---------------------------------------------------------------------------------------

def _warmup_from_zero(step, hi, lo, w, m):
    return hi * step / w if step < w else lr_at(step, hi, lo, w, m)


def _cosine_to_zero(step, hi, lo, w, m):
    if step < w or step >= m:
        return lr_at(step, hi, lo, w, m)
    return lr_at(step, hi, 0.0, w, m)


def _cosine_from_step_zero(step, hi, lo, w, m):
    if step < w or step >= m:
        return lr_at(step, hi, lo, w, m)
    return lo + 0.5 * (1 + math.cos(math.pi * step / m)) * (hi - lo)


def _linear_decay(step, hi, lo, w, m):
    if step < w or step >= m:
        return lr_at(step, hi, lo, w, m)
    return hi - (step - w) / (m - w) * (hi - lo)


def _no_floor_after_end(step, hi, lo, w, m):
    return lr_at(min(step, m - 1), hi, lo, w, m)


@pytest.mark.parametrize("wrong,expected", [
    (_warmup_from_zero, "step + 1"),
    (_cosine_to_zero, "floor is min_lr"),
    (_cosine_from_step_zero, "measure progress from warmup_steps"),
    (_linear_decay, "straight line"),
    (_no_floor_after_end, "stays at its floor"),
    (lambda step, hi, lo, w, m: hi, "inside the warmup"),
    (lambda step, hi, lo, w, m: lr_at(step, hi, lo, w, m) * (1.01 if w < step < m else 1), "half a cosine"),
])
def test_lr_schedule_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson08.check_lr_schedule, wrong, capsys)
    assert not ok
    assert expected in out


def test_lr_schedule_accepts_a_tensor_result(capsys):
    ok, out = verdict(lesson08.check_lr_schedule,
                      lambda *a: torch.tensor(sol08.lr_schedule_solution(*a), dtype=torch.float64), capsys)
    assert ok, out


def test_lr_schedule_solution_is_the_trainers_schedule():
    for step in range(0, 1300, 7):
        assert sol08.lr_schedule_solution(step, 4e-3, 4e-4, 50, 1200) == lr_at(step, 4e-3, 4e-4, 50, 1200)


# -- lesson 09 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong,expected", [
    (lambda t, w, m, h: t / w / m / (h * 60) / 365, "*multiplying* by words_per_token"),
    (lambda t, w, m, h: t * w / m / (24 * 60) / 365, "hours_per_day hours, not 24"),
    (lambda t, w, m, h: t * w / m / (h * 60) / 365.25, "365 days"),
    (lambda t, w, m, h: t * w / m / h / 365, "factor of 60"),
    (lambda t, w, m, h: t * w / m, "tokens → words → minutes → days → years"),
])
def test_reading_years_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson09.check_reading_years, wrong, capsys)
    assert not ok
    assert expected in out


YEAR = 365 * 24 * 3600


@pytest.mark.parametrize("wrong,expected", [
    (lambda p, t, s: p * t / s / YEAR, "training costs about 6"),
    (lambda p, t, s: 2 * p * t / s / YEAR, "backward pass adds 4 more"),
    (lambda p, t, s: 6 * p * t / s, "in seconds"),
    (lambda p, t, s: 6 * p * t / s / (365.25 * 24 * 3600), "365 days"),
    (lambda p, t, s: 6 * p * t / s / 3600 / 365, "a day has 24 hours"),
    (lambda p, t, s: 6 * p * t / s / 3600, "that is in hours"),
    (lambda p, t, s: 6 * p * t * s / YEAR, "operations = 6 × weights × tokens"),
])
def test_training_years_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson09.check_training_years, wrong, capsys)
    assert not ok
    assert expected in out


def test_reading_and_training_solutions_reproduce_the_famous_numbers():
    gpt3, llama = scale.KNOWN_MODELS["GPT-3"], scale.KNOWN_MODELS["Llama 3.1 405B"]
    assert sol09.reading_years_solution(gpt3["dataset_tokens"], 0.75, 250, 24) > 2600
    assert sol09.training_years_solution(llama["params"], llama["tokens"], 1e9) > 100e6
    assert math.isclose(sol09.training_years_solution(gpt3["params"], gpt3["tokens"], 1e9),
                        scale.compute_years(scale.training_ops(gpt3["params"], gpt3["tokens"]), 1e9))
