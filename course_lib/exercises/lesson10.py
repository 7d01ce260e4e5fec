"""Lesson 10 · From autocomplete to assistant: checker.

    from course_lib.exercises import lesson10
    lesson10.check_loss_targets(loss_targets)
"""
import torch

from .core import ExerciseFailed, run_check
from .reference import reference

IGNORE = -100


# -- checker ---------------------------------------------------------------------------------------

def _cases():
    from ..chat import render, training_example
    from ..checkpoint import load_pretrained

    _, tok, _ = load_pretrained("shakespeare-bpe")
    convs = [
        [("user", "Hello!"), ("assistant", "Hi! How can I help?")],
        [("user", "What is 2 plus 3?"), ("assistant", "5."), ("user", "Thanks"), ("assistant", "You are welcome.")],
    ]
    for conv in convs:
        ids, mask = render(conv, tok)
        _, y = training_example(conv, tok)
        yield ids, mask, y


def _test_loss_targets(fn):
    for ids, mask, expected in _cases():
        got = fn(list(ids), list(mask))
        if isinstance(got, list):
            got = torch.tensor(got)
        if not isinstance(got, torch.Tensor):
            raise ExerciseFailed(f"return a torch tensor (or a list), not a {type(got).__name__}.")
        if got.numel() == len(ids):
            raise ExerciseFailed(f"you returned {len(ids)} targets, one per token; there should be {len(ids) - 1}. "
                                 "Hint: the target at position i is the token at i + 1, so the last token "
                                 "has no target.")
        if tuple(got.shape) != tuple(expected.shape):
            raise ExerciseFailed(f"the targets have shape {tuple(got.shape)}; they should have shape "
                                 f"{tuple(expected.shape)} (one per token but the last).")
        got = got.long()
        if torch.equal(got, expected):
            continue
        shifted = torch.tensor([t if m else IGNORE for t, m in zip(ids[1:], mask[:-1])])
        if torch.equal(got, shifted):
            raise ExerciseFailed("the mask is read one position too early. Hint: whether target i counts depends "
                                 "on who wrote token i + 1, the token being predicted.")
        if torch.equal(got, torch.tensor(ids[1:])):
            raise ExerciseFailed("every next token is a target, so the model would also learn to write the "
                                 "user's words and the system line. Hint: put -100 where the mask is 0.")
        if torch.equal(got, torch.tensor([IGNORE if m else t for t, m in zip(ids[1:], mask[1:])])):
            raise ExerciseFailed("the mask is the wrong way round: you grade the user's tokens and ignore the "
                                 "assistant's. Hint: mask 1 = keep the token.")
        if not set(got.tolist()) <= set(ids) | {IGNORE}:
            raise ExerciseFailed("some targets are neither a token id of the script nor -100.")
        wrong = int((got != expected).nonzero()[0])
        raise ExerciseFailed(f"target {wrong} is {int(got[wrong])}. Hint: the target at position i is "
                             "ids[i + 1] if mask[i + 1] is 1, else -100.")


def check_loss_targets(loss_targets) -> bool:
    """Checks loss_targets(ids, mask) -> targets (len(ids) - 1,), as course_lib.chat.training_example makes them."""
    return run_check("loss_targets", loss_targets, reference("lesson10", "loss_targets"), _test_loss_targets)
