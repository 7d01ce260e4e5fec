"""The checkers of lessons 10-11 reject typical wrong answers with a message that says
what is wrong (without the answer). What every checker promises (the reference passes, an
unfinished exercise or a crash is reported) is tested in test_exercise_checkers.py."""
import pytest
import torch
import torch.nn.functional as F

from checker_helpers import verdict
from course_lib.exercises import lesson10, lesson11
from course_lib.exercises.solutions import lesson10 as sol10

pytestmark = pytest.mark.usefixtures("learner_mode")


# -- lesson 10: loss targets --------------------------------------------------------------------

def test_loss_targets_reference_matches_training_example():
    from course_lib.chat import render, training_example
    from course_lib.checkpoint import load_pretrained

    _, tok, _ = load_pretrained("shakespeare-bpe")
    conv = [("user", "Hi"), ("assistant", "Hello!")]
    ids, mask = render(conv, tok)
    assert torch.equal(sol10.loss_targets_solution(ids, mask), training_example(conv, tok)[1])


@pytest.mark.parametrize("wrong,message", [
    (lambda ids, mask: torch.tensor(ids[1:]), "put -100 where the mask is 0"),
    (lambda ids, mask: torch.tensor([-100 if m else t for t, m in zip(ids[1:], mask[1:])]), "wrong way round"),
    (lambda ids, mask: torch.tensor([t if m else -100 for t, m in zip(ids[1:], mask[:-1])]), "one position too early"),
    (lambda ids, mask: torch.tensor([t if m else -100 for t, m in zip(ids, mask)]), "the last token has no target"),
])
def test_loss_targets_rejects_typical_mistakes(wrong, message, capsys):
    ok, out = verdict(lesson10.check_loss_targets, wrong, capsys)
    assert not ok
    assert "❌" in out and message in out


# -- lesson 11: Bradley-Terry and DPO ------------------------------------------------------------

@pytest.mark.parametrize("wrong,message", [
    (lambda rc, rr: -F.logsigmoid(rr - rc).mean(), "chosen and rejected are swapped"),
    (lambda rc, rr: F.logsigmoid(rc - rr).mean(), "the sign is wrong"),
    (lambda rc, rr: -F.logsigmoid(rc - rr).sum(), "take the mean"),
    (lambda rc, rr: torch.sigmoid(rc - rr).mean(), "the loss is -log of it"),
    (lambda rc, rr: -F.logsigmoid(rc - rr), "return one number"),
    (lambda rc, rr: -torch.log(torch.sigmoid(rc - rr)).mean(), "F.logsigmoid"),
])
def test_bradley_terry_rejects_typical_mistakes(wrong, message, capsys):
    ok, out = verdict(lesson11.check_bradley_terry_loss, wrong, capsys)
    assert not ok
    assert "❌" in out and message in out


@pytest.mark.parametrize("wrong,message", [
    (lambda pc, pr, rc, rr, beta=0.1: -F.logsigmoid(beta * ((pr - rr) - (pc - rc))).mean(), "swapped"),
    (lambda pc, pr, rc, rr, beta=0.1: -F.logsigmoid((pc - rc) - (pr - rr)).mean(), "beta is missing"),
    (lambda pc, pr, rc, rr, beta=0.1: -F.logsigmoid(beta * (pc - pr)).mean(), "reference model is left out"),
])
def test_dpo_rejects_typical_mistakes(wrong, message, capsys):
    ok, out = verdict(lesson11.check_dpo_loss, wrong, capsys)
    assert not ok
    assert "❌" in out and message in out
