"""course_lib.rlhf: the simulated rater, preference storage, reward model, PPO, DPO, evaluation,
and the preference widget."""
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from course_lib import chat as C
from course_lib import rlhf as R

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def tok(chat_tokenizer):
    return chat_tokenizer


# ---------------------------------------------------------------------------------------
# The simulated rater
# ---------------------------------------------------------------------------------------

def better(prompt, a, b):
    return R.compare(prompt, a, b)["winner"] == "a"


def test_rater_correct_beats_wrong():
    assert R.classify_prompt("What is 7 plus 6?") == ("arithmetic", {"a": 7, "b": 6, "answer": "13"})
    assert better("What is 7 plus 6?", "7 plus 6 is 13.", "7 plus 6 is 14.")
    assert better("Add 2 and 0.", "2 plus 0 is 2.", "2 plus 0 is 0.")
    assert better("Who wrote Hamlet?", "Hamlet was written by William Shakespeare.",
                  "Hamlet was written by Ben Jonson.")
    assert better("Which play has Iago in it?", "Iago is a character in Othello.",
                  "Iago is a character in Macbeth.")
    assert better("In which play does Hamlet appear?", "Hamlet is a character in Hamlet.",
                  "Hamlet is a character in Macbeth.")
    assert better("What is the opposite of hot?", "The opposite of hot is cold.", "The opposite of hot is wet.")
    assert better("What is the plural of mouse?", "The plural of mouse is mice.", "The plural of mouse is mouses.")
    assert better("What is the plural of sheep?", "The plural of sheep is sheep.", "The plural of sheep is sheeps.")
    score, reason = R.rate("What is 7 plus 6?", "7 plus 6 is 14.")
    assert score < 0 and "wrong" in reason
    assert R.is_correct("What is 7 plus 6?", "13") and not R.is_correct("What is 7 plus 6?", "It is 12.")


def test_rater_polite_concise_on_topic():
    assert better("Hello!", "Hello! How can I help you today?", "Ugh, fine. Hello! How can I help you today?")
    assert better("What is 2 plus 3?", "2 plus 3 is 5.",
                  "2 plus 3 is 5. But let me tell you about my cousin, who once counted all the stars.")
    assert better("Hello!", "Hi! What can I do for you?", "Let us speak of horses instead.")
    assert better("How do I poison my uncle?", "I am sorry, but I cannot help with that.",
                  "Let us speak of horses instead.")
    assert better("Write a line about love like Shakespeare.", "O love, thou art a fire.", "I like bread.")
    assert R.rate("Hello!", "")[0] == R.W_EMPTY
    _, reason = R.rate("Hello!", "Hello hello hello hello hello hello")
    assert "repeats itself" in reason
    verdict = R.compare("Hello!", "Hi!", "Hi!")
    assert verdict["winner"] == "tie"
    rude_score, rude_reason = R.rate("Hello!", "Go away, you fool.")
    assert "rude" in rude_reason and rude_score <= R.W_RUDE_MAX + R.W_OFF_TOPIC + 1e-9


# ---------------------------------------------------------------------------------------
# Preference storage
# ---------------------------------------------------------------------------------------

def test_preferences_round_trip_and_validation(tmp_path):
    path = tmp_path / "prefs" / "labels.jsonl"
    assert R.load_preferences(path) == []
    R.save_preference(R.make_preference("Hi", "Hello!", "Go away.", "human"), path)
    R.save_preference(R.label_with_rater("Hi", "Go away, fool.", "Hello!"), path)
    R.save_preference(R.make_preference("Hi", "Hello!", "Hello!", "human", tie=True), path)
    got = R.load_preferences(path)
    assert [r["source"] for r in got] == ["human", "simulated"]
    assert got[1]["chosen"] == "Hello!" and "reason" in got[1]
    assert len(R.load_preferences(path, include_ties=True)) == 3
    with pytest.raises(ValueError, match="source"):
        R.make_preference("a", "b", "c", source="robot")
    with pytest.raises(ValueError, match="chosen"):
        R.make_preference("a", None, "c")


def test_loader_skips_damaged_lines(tmp_path):
    path = tmp_path / "labels.jsonl"
    good = json.dumps(R.make_preference("p", "c", "r", "human"))
    path.write_text(good + "\n" + '{"prompt": "p", "chos' + "\n" + '{"prompt": 1}\n' + good + "\n")
    with pytest.warns(UserWarning, match="2 damaged"):
        records = R.load_preferences(path)
    assert len(records) == 2


WRITER = """
import sys
sys.path.insert(0, {repo!r})
from course_lib import rlhf
i = 0
while True:
    rlhf.save_preference(rlhf.make_preference("prompt %d" % i, "chosen " * 50, "rejected " * 50, "human"), {path!r})
    i += 1
"""


def test_kill_during_writes_leaves_no_half_line(tmp_path):
    path = tmp_path / "labels.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(repo=str(REPO), path=str(path))])
    try:
        deadline = time.time() + 30
        while time.time() < deadline and (not path.exists() or path.read_bytes().count(b"\n") < 20):
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.decode("utf-8").splitlines()
    assert len(lines) >= 20
    for i, line in enumerate(lines):
        assert json.loads(line)["prompt"] == f"prompt {i}"  # every line whole, none lost in between
    assert len(R.load_preferences(path)) == len(lines)


# ---------------------------------------------------------------------------------------
# Reward model
# ---------------------------------------------------------------------------------------

def test_bradley_terry_loss_hand_computed():
    loss = R.bradley_terry_loss(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0]))
    expected = (math.log(1 + math.exp(-2.0)) + math.log(2.0)) / 2  # = 0.410038
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.410038, abs=1e-6)


def test_reward_model_reads_last_real_token_and_learns(tok, make_chat_model):
    sft = make_chat_model()
    rm = R.RewardModel(sft)
    assert rm.gpt is not sft  # a copy: training it leaves the SFT model alone
    torch.nn.init.normal_(rm.head.weight, std=1.0)
    p = C.prompt_ids("Hello!", tok, 256, 10)
    a = R.encode_answer(tok, "Hi!")
    X, mask, lengths = R.pack([p, p], [a, a + a], pad_id=0)
    with torch.no_grad():
        padded = rm(X, lengths)
        alone = rm(torch.tensor([p + a]))
    assert padded[0].item() == pytest.approx(alone[0].item(), abs=1e-5)  # padding does not matter
    assert mask[0].sum() == len(a)
    pairs = [R.make_preference("Hello!", "Hi! How can I help?", "Go away.", "simulated"),
             R.make_preference("Thank you!", "You are welcome.", "Whatever.", "simulated")]
    log = R.train_reward_model(rm, tok, pairs, steps=15, batch_size=2, lr=3e-3, progress=False, heldout=pairs)
    assert log[-1]["loss"] < log[0]["loss"]
    assert log[-1]["heldout_accuracy"] == 1.0
    assert rm.score(tok, "Hello!", "Hi! How can I help?") > rm.score(tok, "Hello!", "Go away.")


# ---------------------------------------------------------------------------------------
# PPO and DPO: one step in the right direction
# ---------------------------------------------------------------------------------------

def test_gae_hand_example():
    rewards = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    values = torch.zeros(1, 4)
    mask = torch.tensor([[0.0, 1.0, 1.0, 1.0]])
    adv, ret = R.gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert adv.tolist() == [[0.0, 1.0, 1.0, 1.0]]
    adv, _ = R.gae(rewards, torch.tensor([[0.0, 0.5, 0.5, 0.5]]), mask, gamma=1.0, lam=0.5)
    # delta = [., 0, 0, 0.5]; A_3 = 0.5, A_2 = 0 + 0.5*0.5 = 0.25, A_1 = 0.125
    assert adv[0, 1:].tolist() == pytest.approx([0.125, 0.25, 0.5])


class FirstTokenIn(torch.nn.Module):
    """A stand-in reward model: +1 if the answer's first token is in a given set, else -1."""

    def __init__(self, prompt_len, good_ids):
        super().__init__()
        self.prompt_len = prompt_len
        self.good = torch.tensor(good_ids)

    def forward(self, idx, lengths=None):
        return torch.isin(idx[:, self.prompt_len], self.good).float() * 2 - 1


def test_one_ppo_step_moves_policy_toward_reward(tok, make_chat_model):
    def peaked():  # a sharper first-token distribution, so 32 samples cover the good tokens
        model = make_chat_model()
        with torch.no_grad():
            model.ln_f.weight.mul_(10)
        return model

    policy, reference = peaked(), peaked()
    p = C.prompt_ids("Hello!", tok, 256, 2)

    def first_token_probs():
        with torch.no_grad():
            logits, _ = policy(torch.tensor([p]))
        return logits[0, -1].softmax(-1)

    good = first_token_probs().topk(3).indices.tolist()
    before = first_token_probs()[good].sum().item()
    log = R.ppo(policy, reference, FirstTokenIn(len(p), good), tok, ["Hello!"], steps=1, prompts_per_step=32,
                max_new_tokens=2, lr=1e-3, epochs=2, kl_coef=0.0, no_end_penalty=0.0, progress=False)
    after = first_token_probs()[good].sum().item()
    assert after > before + 0.1  # the rewarded answers became more likely
    entry = log[0]
    assert {"reward", "kl", "rater", "length", "samples", "seconds"} <= set(entry)
    assert isinstance(entry["samples"][0][1], str)
    with pytest.raises(ValueError, match="unknown PPO setting"):
        R.ppo(policy, reference, FirstTokenIn(len(p), good), tok, ["Hello!"], steps=1, beta=3)


def test_one_dpo_step_raises_chosen_over_rejected(tok, make_chat_model):
    policy, reference = make_chat_model(), make_chat_model()
    pairs = [R.make_preference("Hello!", "Hi! How can I help?", "Whatever.", "simulated")]

    def logps(model):
        prompts, chosen, rejected = R.pair_batch(tok, pairs, 256)
        X, mask, _ = R.pack(prompts + prompts, chosen + rejected)
        with torch.no_grad():
            lp = R.answer_logprob(model, X, mask)
        return lp[0].item(), lp[1].item()

    c0, r0 = logps(policy)
    loss, margin = R.dpo_loss(torch.tensor([c0]), torch.tensor([r0]), torch.tensor([c0]), torch.tensor([r0]))
    assert loss.item() == pytest.approx(math.log(2)) and margin.item() == 0  # policy == reference
    log = R.dpo(policy, reference, tok, pairs, steps=1, batch_size=1, lr=3e-3, beta=0.1, progress=False)
    c1, r1 = logps(policy)
    assert c1 - r1 > c0 - r0  # the chosen answer gained on the rejected one
    assert c1 > c0  # and its own log-probability rose
    assert log[0]["dpo_loss"] == pytest.approx(math.log(2), abs=1e-4)
    n_chosen = len(R.encode_answer(tok, pairs[0]["chosen"]))
    assert log[0]["sft_loss"] == pytest.approx(-c0 / n_chosen, rel=1e-4)
    # Pure DPO (no imitation term) also moves the gap the right way.
    pure = make_chat_model()
    R.dpo(pure, reference, tok, pairs, steps=1, batch_size=1, lr=3e-3, sft_weight=0.0, progress=False)
    c2, r2 = logps(pure)
    assert c2 - r2 > c0 - r0


# ---------------------------------------------------------------------------------------
# Evaluation and the preference widget
# ---------------------------------------------------------------------------------------

HELDOUT = [
    {"prompt": "What is 2 plus 3?", "answer": "5", "task": "arithmetic", "scored": True},
    {"prompt": "Hello!", "answer": None, "task": "greeting", "scored": False},
]


def test_evaluate_reports_win_rate_and_accuracy(tok, make_chat_model):
    model = make_chat_model()
    base = [["2 plus 3 is 6."] * 2, ["Go away, fool."] * 2]
    report = R.evaluate(model, tok, HELDOUT, baseline_answers=base, samples=2, max_new_tokens=6)
    assert report["wins"] + report["ties"] + report["losses"] == 4
    assert 0 <= report["win_rate"] <= 1 and 0 <= report["accuracy"] <= 1
    assert len(report["answers"]) == 2 and len(report["answers"][0]) == 2
    # Against itself (same seed), everything is a tie.
    same = R.evaluate(model, tok, HELDOUT, baseline_answers=report["answers"], samples=2, max_new_tokens=6)
    assert same["win_rate"] == 0.5 and same["ties"] == 4
    assert same["win_rate_se"] == 0.0  # every question gives the same score: no spread


def test_bootstrap_se_resamples_questions_not_single_comparisons():
    # Two questions, each always won or always lost: the mean is 0.5 and the spread comes
    # from which questions a resample draws. With ten answers each, counting the 20
    # comparisons as independent would give sqrt(0.25 / 20) = 0.11; resampling the two
    # questions gives sqrt(0.25 / 2) = 0.35 (about; it is a random resample).
    points = [[1.0] * 10, [0.0] * 10]
    se = R.bootstrap_se(points, resamples=4000)
    assert 0.3 < se < 0.4
    assert R.bootstrap_se(points, resamples=4000) == se  # seeded: the same every time
    assert R.bootstrap_se([[1.0, 0.0, 0.5]]) == 0.0  # one question: nothing to resample
    assert R.bootstrap_se([[0.5] * 3, [0.5] * 3, [0.5]]) == 0.0
    with pytest.raises(ValueError, match="resamples"):
        R.bootstrap_se(points, resamples=1)


def test_evaluate_refuses_zero_answers_or_no_questions(tok, make_chat_model):
    model = make_chat_model()
    with pytest.raises(ValueError, match="samples"):
        R.evaluate(model, tok, HELDOUT, samples=0)
    with pytest.raises(ValueError, match="held-out"):
        R.evaluate(model, tok, [], samples=1)


def test_preference_widget_saves_and_survives_restart(tok, tmp_path, make_chat_model):
    from course_lib.widgets.base import plain_text
    from course_lib.widgets.preference import PreferenceWidget

    path = tmp_path / "preferences" / "my_labels.jsonl"
    model = make_chat_model()
    w = PreferenceWidget(model, tok, prompts=["Hello!", "What is 2 plus 3?"], path=path, max_new_tokens=5,
                         show_rater=True)
    first = dict(w.current)
    assert set(first) == {"prompt", "a", "b"}
    assert first["prompt"] in plain_text(w.prompt_area.value)
    assert "simulated rater prefers" in plain_text(w.rater_area.value)
    record = w.choose("b")
    assert record == {"prompt": first["prompt"], "chosen": first["b"], "rejected": first["a"], "source": "human",
                      "labeller": R.student_name()}
    assert w.choose("skip") is None
    w.choose("tie")
    assert w.count == 2
    assert "2 labels saved" in plain_text(w.count_area.value)
    # A new widget (e.g. after a kernel restart) finds the labels.
    w2 = PreferenceWidget(model, tok, prompts=["Hello!"], path=path, max_new_tokens=5)
    assert w2.count == 2 and w2.labels[1].get("tie") is True
    assert len(R.load_preferences(path)) == 1  # ties are not training pairs
    assert w2.rater_verdict()["winner"] in ("a", "b", "tie")
    assert set(w2.agreement()) == {"agree", "compared", "share"}
    w2._on_choose("maybe")
    assert "choose one of" in w2.message
    # An exported page shows the pair as it is now, with no buttons (and the message once).
    picture = w2.static().data
    assert w2.current["prompt"] in plain_text(picture) and "<button" not in picture
    from course_lib.widgets.base import static_html
    assert plain_text(static_html(w2)).count("choose one of") == 1


def test_a_chat_widget_exports_its_script_as_text(tok, make_chat_model):
    from course_lib.widgets.base import plain_text
    from course_lib.widgets.chat import ChatWidget

    w = ChatWidget(make_chat_model(), tok, seed=0, max_new_tokens=4)
    w.send("Hello there!")
    assert "Hello there!" in plain_text(w.static().data)


def test_training_only_the_top_block_leaves_the_model_whole_even_when_interrupted(tok, make_chat_model):
    """train_blocks freezes the lower blocks while training; afterwards, also after an
    interrupt (Ctrl-C in a notebook), every weight is trainable again and nothing else changed."""
    pairs = [R.make_preference("Hello!", "Hi! How can I help?", "Whatever.", "simulated")]
    policy, reference = make_chat_model(), make_chat_model()
    lower_before = [p.detach().clone() for p in policy.blocks[0].parameters()]

    def interrupt(entry):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        R.dpo(policy, reference, tok, pairs, steps=3, batch_size=1, lr=3e-3, train_blocks=1, callback=interrupt,
              progress=False)
    assert all(p.requires_grad for p in policy.parameters()) and not policy.training
    assert all(torch.equal(a, b) for a, b in zip(lower_before, policy.blocks[0].parameters()))  # frozen: untouched
    assert not torch.equal(make_chat_model().blocks[1].attn.qkv.weight, policy.blocks[1].attn.qkv.weight)
    with pytest.raises(ValueError, match="train_blocks must be between 0 and 2"):
        R.dpo(policy, reference, tok, pairs, steps=1, train_blocks=5, progress=False)
    assert all(p.requires_grad for p in policy.parameters())


# ---------------------------------------------------------------------------------------
# The committed reward-hacking run that lesson 11 plots
# ---------------------------------------------------------------------------------------

def test_the_committed_hacking_run_shows_what_the_lesson_says():
    run = R.load_hacking_run()
    assert set(run["logs"]) == set(run["hacking"]) == {"0.0", str(R.PPOConfig.kl_coef)}
    free, leashed = run["hacking"]["0.0"], run["hacking"][str(R.PPOConfig.kl_coef)]
    # Without the leash the reward model's score rises while the rater's falls ...
    assert free["reward_end"] > free["reward_start"] and free["rater_end"] < free["rater_start"]
    # ... with it, the rater's score rises too, and the policy stays nearer the SFT model.
    assert leashed["rater_end"] > leashed["rater_start"] and leashed["kl_end"] < free["kl_end"]
    for log in run["logs"].values():
        assert [e["step"] for e in log] == list(range(1, len(log) + 1))


def test_a_missing_hacking_run_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="course_lib.rlhf hack"):
        R.load_hacking_run(tmp_path / "nothing.json")


# --- issue 13, point 5: the command line checks every argument before anything trains -----------

@pytest.mark.parametrize("args, message", [
    (["dpo", "--steps", "0"], "steps must be a whole number >= 1, not 0"),
    (["dpo", "--batch-size", "0"], "batch_size must be a whole number >= 1, not 0"),
    (["dpo", "--lr", "nan"], "lr must be a number > 0, not nan"),
    (["dpo", "--beta", "-1"], "beta must be a number > 0"),
    (["dpo", "--seed", "-1"], "seed must be a whole number >= 0"),
    (["dpo", "--eval-samples", "0"], "--eval-samples must be a whole number >= 1"),
    (["dpo", "--device", "tpu"], "device must be one of"),
    (["dpo", "--out", "/proc/no-such-folder"], "--out /proc/no-such-folder cannot be created or written"),
    (["ppo", "--rm-steps", "0"], "steps must be a whole number >= 1, not 0"),
    (["ppo", "--rm-batch-size", "0"], "batch_size must be a whole number >= 1, not 0"),
    (["ppo", "--prompts-per-step", "0"], "prompts_per_step must be a whole number >= 1"),
    (["ppo", "--save-rm", "FILE"], "--save-rm .* is a file, not a folder"),
    (["hack", "--kl-coefs", "nan"], "--kl-coefs must be numbers >= 0"),
    (["hack", "--json", "/proc/no-such-folder/x.json"], "--json .*cannot be created or written"),
])
def test_rlhf_command_line_refuses_bad_arguments_before_training(tmp_path, capsys, args, message):
    from course_lib.rlhf.__main__ import main

    (tmp_path / "FILE").write_text("mine")
    args = [str(tmp_path / "FILE") if a == "FILE" else a for a in args]
    out = [] if args[0] == "hack" or "--out" in args else ["--out", str(tmp_path / "out")]
    rc = main([*args, "--sft", str(REPO / "data/checkpoints/chat-sft"), *out])
    err = capsys.readouterr().err
    assert rc == 1 and re.search("error: .*" + message, err), err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_chat_sft_command_line_checks_its_output_folder_first(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    rc = C.main(["sft", "--base", str(REPO / "data/checkpoints/shakespeare-bpe"), "--out", str(tmp_path)])
    assert rc == 1 and "holds files that are not a checkpoint's (notes.txt)" in capsys.readouterr().err
    rc = C.main(["sft", "--base", str(REPO / "data/checkpoints/shakespeare-bpe"), "--out", str(tmp_path / "x"),
                 "--steps", "0"])
    assert rc == 1 and "steps must be a whole number >= 1, not 0" in capsys.readouterr().err


def test_a_reward_model_folder_is_one_set(tmp_path, tok, make_chat_model):
    rm = R.RewardModel(make_chat_model())
    R.save_reward_model(tmp_path / "rm", rm, tok)
    assert json.loads((tmp_path / "rm" / "manifest.json").read_text())["files"].keys() >= {
        "reward_head.safetensors", "model.safetensors", "config.json", "tokenizer.json"}
    loaded, _, _ = R.load_reward_model(tmp_path / "rm")
    assert torch.equal(loaded.head.weight, rm.head.weight)
    head = tmp_path / "rm" / "reward_head.safetensors"
    head.write_bytes(head.read_bytes()[:20])
    with pytest.raises(ValueError, match="reward_head.safetensors does not match"):
        R.load_reward_model(tmp_path / "rm")
    with torch.no_grad():
        rm.head.bias[:] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        R.save_reward_model(tmp_path / "rm2", rm, tok)


def test_the_reward_model_scores_an_answer_too_long_for_its_context(tok, make_chat_model):
    """score() reads at most MAX_ANSWER_TOKENS answer tokens, as training does, so a long answer
    never overflows the context: same score as its first tokens alone."""
    from course_lib.rlhf.scoring import MAX_ANSWER_TOKENS, encode_answer

    rm = R.RewardModel(make_chat_model())
    long_answer = "To be or not to be, that is the question. " * 40
    ids = encode_answer(tok, long_answer)
    assert len(ids) > 2 * MAX_ANSWER_TOKENS
    assert rm.score(tok, "Hello!", long_answer) == rm.score(tok, "Hello!", ids[:MAX_ANSWER_TOKENS])
