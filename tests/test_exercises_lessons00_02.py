"""The checkers of lessons 00-02: they accept the reference, reject wrong answers with a
useful message, and say "not written yet" for an unfinished function."""
import pytest
import torch

from checker_helpers import unfinished, verdict
from course_lib.bigram import bigram_counts
from course_lib.exercises import lesson00, lesson01, lesson02
from course_lib.exercises.solutions import lesson00 as sol00, lesson01 as sol01, lesson02 as sol02
from course_lib.sampling import probs_from_logits
from course_lib.tokenizer import BPETokenizer

pytestmark = pytest.mark.usefixtures("learner_mode")


# -- lesson 00: softmax with temperature ---------------------------------------------------------

def test_softmax_reference_matches_library():
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(0)) * 4
    for t in (0.3, 1.0, 2.5):
        assert torch.allclose(sol00.softmax_with_temperature_solution(logits, t), probs_from_logits(logits, t), atol=1e-6)


def test_softmax_checker_accepts_reference(capsys):
    ok, out = verdict(lesson00.check_softmax_with_temperature, sol00.softmax_with_temperature_solution, capsys)
    assert ok and "✅" in out and "correct" in out


def test_softmax_checker_accepts_torch_softmax(capsys):
    ok, _ = verdict(lesson00.check_softmax_with_temperature, lambda x, t: torch.softmax(x / t, dim=-1), capsys)
    assert ok


@pytest.mark.parametrize("wrong, expected_words", [
    (lambda x, t: torch.softmax(x, dim=-1), "divide the scores by the temperature first"),
    (lambda x, t: torch.exp(x / t), "add up to"),
    (lambda x, t: (x / t).exp() / (x / t).exp().sum(), "each row must add up to 1"),
    (lambda x, t: (x / t).exp() / (x / t).exp().sum(-1, keepdim=True), "subtract the largest score first"),
    (lambda x, t: (x / t).softmax(-1)[:2], "shape"),
    (lambda x, t: (x / t).softmax(-1).tolist(), "should return a torch tensor"),
])
def test_softmax_checker_rejects_wrong(wrong, expected_words, capsys):
    ok, out = verdict(lesson00.check_softmax_with_temperature, wrong, capsys)
    assert not ok
    assert "❌" in out and expected_words in out


def test_softmax_checker_unfinished(capsys):
    ok, out = verdict(lesson00.check_softmax_with_temperature, unfinished, capsys)
    assert not ok and "not written yet" in out


def test_softmax_checker_reports_crash(capsys):
    ok, out = verdict(lesson00.check_softmax_with_temperature, lambda x, t: x.nonexistent(), capsys)
    assert not ok and "AttributeError" in out


def test_fill_solutions_mode_checks_reference(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FILL_SOLUTIONS", "1")
    ok, out = verdict(lesson00.check_softmax_with_temperature, unfinished, capsys)
    assert ok and "reference solution" in out


# -- lesson 01: one BPE merge ------------------------------------------------------------------------

def test_merge_reference_worked_example():
    ids = list("aaabdaaabac".encode())
    assert sol01.merge_solution(ids, (97, 97), 256) == [256, 97, 98, 100, 256, 97, 98, 97, 99]
    assert sol01.merge_solution([5, 5, 5], (5, 5), 9) == [9, 5]


def test_merge_reference_agrees_with_bpe_training():
    # Applying the library's learned merges with the reference merge gives the library's encoding.
    text = "aaabdaaabac"
    tok = BPETokenizer.train(text, 256 + 3, special_tokens=[], pattern=None)
    ids = list(text.encode())
    for pair, new_id in tok.merges.items():
        ids = sol01.merge_solution(ids, pair, new_id)
    assert ids == tok.encode(text)


def test_merge_checker_accepts_reference(capsys):
    ok, out = verdict(lesson01.check_merge, sol01.merge_solution, capsys)
    assert ok and "correct" in out


def drops_last(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def keeps_second(ids, pair, new_id):
    return [new_id if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair) else x for i, x in enumerate(ids)]


def in_place(ids, pair, new_id):
    result = sol01.merge_solution(ids, pair, new_id)
    ids[:] = result
    return ids


@pytest.mark.parametrize("wrong, expected_words", [
    (drops_last, "no token is lost"),
    (keeps_second, "skip both of its tokens"),
    (in_place, "changed the list"),
    (lambda ids, pair, new_id: None, "returned None"),
    (lambda ids, pair, new_id: "abc", "should return a list"),
])
def test_merge_checker_rejects_wrong(wrong, expected_words, capsys):
    ok, out = verdict(lesson01.check_merge, wrong, capsys)
    assert not ok
    assert "❌" in out and expected_words in out


def test_merge_checker_unfinished(capsys):
    ok, out = verdict(lesson01.check_merge, unfinished, capsys)
    assert not ok and "not written yet" in out


# -- lesson 02: bigram counts -------------------------------------------------------------------------

def loop_counts(ids, V):
    counts = torch.zeros(V, V)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    return counts


def test_bigram_reference_matches_loop():
    ids = torch.randint(0, 7, (300,), generator=torch.Generator().manual_seed(1))
    assert torch.equal(sol02.bigram_counts_solution(ids, 7).float(), loop_counts(ids, 7))
    assert sol02.bigram_counts_solution(ids, 7).sum() == len(ids) - 1


def test_library_bigram_table_matches_loop_and_refuses_bad_input():
    ids = torch.randint(0, 7, (300,), generator=torch.Generator().manual_seed(2))
    assert torch.equal(bigram_counts(ids, 7).float(), loop_counts(ids, 7))
    assert bigram_counts([], 3).sum() == 0 and bigram_counts([2], 3).sum() == 0
    for ids, V, message in [([0, 5], 3, "0 .. 2"), ([[0, 1]], 3, "1-D"), ([0.5, 1.0], 3, "whole numbers"),
                            ([0, 1], 0, "vocab_size")]:
        with pytest.raises(ValueError, match=message):
            bigram_counts(ids, V)


def test_bigram_checker_accepts_reference_and_loop(capsys):
    assert verdict(lesson02.check_bigram_counts, sol02.bigram_counts_solution, capsys)[0]
    assert verdict(lesson02.check_bigram_counts, loop_counts, capsys)[0]


def transposed(ids, V):
    return loop_counts(ids, V).T


def too_small(ids, V):
    n = int(ids.max()) + 1
    return loop_counts(ids, n)


def wraps_around(ids, V):
    counts = loop_counts(ids, V)
    counts[ids[-1], ids[0]] += 1  # counts the last token followed by the first
    return counts


def plus_one(ids, V):
    return loop_counts(ids, V) + 1


@pytest.mark.parametrize("wrong, expected_words", [
    (transposed, "transposed"),
    (too_small, "also for tokens that never appear"),
    (wraps_around, "neighbouring pairs"),
    (plus_one, "neighbouring pairs"),
    (lambda ids, V: loop_counts(ids, V).tolist(), "should return a torch tensor"),
])
def test_bigram_checker_rejects_wrong(wrong, expected_words, capsys):
    ok, out = verdict(lesson02.check_bigram_counts, wrong, capsys)
    assert not ok
    assert "❌" in out and expected_words in out


def test_bigram_checker_reports_wrong_values(capsys):
    def swaps_one(ids, V):
        counts = loop_counts(ids, V)
        counts[0, 1] -= 1  # right total, wrong place
        counts[1, 0] += 1
        return counts

    ok, out = verdict(lesson02.check_bigram_counts, swaps_one, capsys)
    assert not ok and "different values" in out and "counts[a, b]" in out


def test_bigram_checker_unfinished(capsys):
    ok, out = verdict(lesson02.check_bigram_counts, unfinished, capsys)
    assert not ok and "not written yet" in out
