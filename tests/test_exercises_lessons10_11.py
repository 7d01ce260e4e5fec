"""The checkers of lessons 10-11: each accepts its reference solution, rejects typical wrong
answers with a message that says what is wrong (without the answer), and copes with an
unfinished exercise (NotImplementedError)."""
import pytest
import torch
import torch.nn.functional as F

from course_lib.exercises import lesson10, lesson11


@pytest.fixture(autouse=True)
def learner_mode(monkeypatch):
    """Check the function we pass, not the reference (the notebook tests set COURSE_FILL_SOLUTIONS=1)."""
    monkeypatch.delenv("COURSE_FILL_SOLUTIONS", raising=False)


def verdict(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


def unfinished(*args, **kwargs):
    raise NotImplementedError


ALL_CHECKS = [
    (lesson10.check_loss_targets, lesson10.loss_targets_solution),
    (lesson11.check_bradley_terry_loss, lesson11.bradley_terry_loss_solution),
    (lesson11.check_dpo_loss, lesson11.dpo_loss_solution),
]
IDS = [check.__name__ for check, _ in ALL_CHECKS]


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_reference_solution_passes(check, solution, capsys):
    ok, out = verdict(check, solution, capsys)
    assert ok, out
    assert "✅" in out and "correct!" in out


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_unfinished_exercise_is_reported_not_raised(check, solution, capsys):
    ok, out = verdict(check, unfinished, capsys)
    assert not ok
    assert "not written yet" in out


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_a_crash_is_reported_without_a_traceback(check, solution, capsys):
    def crashes(*args, **kwargs):
        return {}["missing"]

    ok, out = verdict(check, crashes, capsys)
    assert not ok
    assert "KeyError" in out


def test_fill_solutions_mode_checks_the_reference(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FILL_SOLUTIONS", "1")
    ok, out = verdict(lesson11.check_bradley_terry_loss, unfinished, capsys)
    assert ok and "reference solution" in out


# -- lesson 10: loss targets --------------------------------------------------------------------

def test_loss_targets_reference_matches_training_example():
    from course_lib.chat import render, training_example
    from course_lib.checkpoint import load_pretrained

    _, tok, _ = load_pretrained("shakespeare-bpe")
    conv = [("user", "Hi"), ("assistant", "Hello!")]
    ids, mask = render(conv, tok)
    assert torch.equal(lesson10.loss_targets_solution(ids, mask), training_example(conv, tok)[1])


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
