"""Lesson 11 · Learning from human feedback: checkers.

    from course_lib.exercises import lesson11
    lesson11.check_bradley_terry_loss(bradley_terry_loss)
    lesson11.check_dpo_loss(dpo_loss)
"""
import torch
import torch.nn.functional as F

from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _as_scalar(name, got):
    if not isinstance(got, torch.Tensor):
        raise ExerciseFailed(f"{name} should be a torch tensor, not a {type(got).__name__}.")
    if got.numel() != 1:
        raise ExerciseFailed(f"{name} has shape {tuple(got.shape)}: return one number, the mean over the pairs. "
                             "Hint: .mean()")
    return got.reshape(())


def _test_bradley_terry(fn):
    from ..rlhf import bradley_terry_loss

    g = torch.Generator().manual_seed(0)
    rc, rr = torch.randn(6, generator=g) * 2, torch.randn(6, generator=g) * 2
    got = _as_scalar("the loss", fn(rc.clone(), rr.clone()))
    expected = bradley_terry_loss(rc, rr)
    if torch.allclose(got, bradley_terry_loss(rr, rc), atol=1e-5):
        raise ExerciseFailed("chosen and rejected are swapped: your loss is small when the rejected answer "
                             "scores higher. Hint: the difference is r_chosen - r_rejected.")
    if torch.allclose(got, -bradley_terry_loss(rc, rr), atol=1e-5):
        raise ExerciseFailed("the sign is wrong: a loss must be positive, and -log of a probability is.")
    if torch.allclose(got, (-F.logsigmoid(rc - rr)).sum(), atol=1e-5):
        raise ExerciseFailed("you summed over the pairs; take the mean, so the loss does not grow with the batch.")
    if torch.allclose(got, torch.sigmoid(rc - rr).mean(), atol=1e-5):
        raise ExerciseFailed("that is the probability that the chosen answer wins; the loss is -log of it.")
    compare_tensors("the loss", got, expected,
                    hint="P(chosen wins) = sigmoid(r_chosen - r_rejected); the loss is -log of that, averaged.")
    if not torch.isfinite(_as_scalar("the loss", fn(torch.tensor([100.0]), torch.tensor([-100.0])))):
        raise ExerciseFailed("for a large gap the loss is not finite. Hint: F.logsigmoid is the stable way "
                             "to take log(sigmoid(x)).")
    got = _as_scalar("the loss", fn(torch.tensor([-100.0]), torch.tensor([100.0])))
    if not torch.isfinite(got) or abs(float(got) - 200.0) > 1e-3:
        raise ExerciseFailed("when the rejected answer scores far higher, the loss should be large but finite "
                             "(about 200 here). Hint: F.logsigmoid instead of torch.log(torch.sigmoid(...)).")


def check_bradley_terry_loss(bradley_terry_loss) -> bool:
    """Checks bradley_terry_loss(r_chosen, r_rejected) -> scalar, as course_lib.rlhf.bradley_terry_loss."""
    return run_check("bradley_terry_loss", bradley_terry_loss, reference("lesson11", "bradley_terry_loss"),
                     _test_bradley_terry)


def _test_dpo(fn):
    from ..rlhf import dpo_loss

    g = torch.Generator().manual_seed(1)
    pc, pr, rc, rr = (torch.randn(5, generator=g) * 5 - 20 for _ in range(4))
    for beta in (0.1, 0.5):
        got = _as_scalar("the DPO loss", fn(pc.clone(), pr.clone(), rc.clone(), rr.clone(), beta))
        expected, _ = dpo_loss(pc, pr, rc, rr, beta)
        if torch.allclose(got, dpo_loss(pr, pc, rr, rc, beta)[0], atol=1e-5):
            raise ExerciseFailed("chosen and rejected are swapped. Hint: the loss should fall when the policy "
                                 "raises the chosen answer's log-probability.")
        if torch.allclose(got, dpo_loss(rc, rr, pc, pr, beta)[0], atol=1e-5):
            raise ExerciseFailed("policy and reference are swapped: each implicit reward is "
                                 "beta x (policy log-prob - reference log-prob).")
        if torch.allclose(got, -F.logsigmoid((pc - rc) - (pr - rr)).mean(), atol=1e-5):
            raise ExerciseFailed(f"beta is missing (this call used beta={beta}). Hint: multiply the margin by beta.")
        if torch.allclose(got, -F.logsigmoid(beta * (pc - pr)).mean(), atol=1e-5):
            raise ExerciseFailed("the reference model is left out: DPO measures how much the policy moved "
                                 "away from the reference, answer by answer.")
        compare_tensors("the DPO loss", got, expected,
                        hint="margin = beta x ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)); "
                             "then the Bradley-Terry loss on that margin.")


def check_dpo_loss(dpo_loss) -> bool:
    """Checks dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) -> scalar."""
    return run_check("dpo_loss", dpo_loss, reference("lesson11", "dpo_loss"), _test_dpo)
