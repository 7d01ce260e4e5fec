"""One shape for fine-tuning loops: checked settings, flags from fields, Trainer-style events
that the training dashboard can show live (course_lib.settings, course_lib.finetune)."""
import argparse
from dataclasses import dataclass
from typing import Optional

import pytest

from course_lib import chat as C
from course_lib import rlhf as R
from course_lib.settings import Settings, _f, add_flags, from_flags, number, optional, whole

TRAINER_KEYS = {"kind", "step", "tokens", "elapsed", "train_loss", "val_loss", "tokens_per_s", "lr", "mfu"}
PAIRS = [{"prompt": "Hello!", "chosen": "Hi! How can I help?", "rejected": "Go away.", "source": "simulated"},
         {"prompt": "Thank you!", "chosen": "You are welcome.", "rejected": "Whatever.", "source": "simulated"}]
DIALOGUES = [{"messages": [{"role": "user", "content": "What is 2 plus 3?"},
                           {"role": "assistant", "content": "2 plus 3 is 5."}]}]


@dataclass
class Toy(Settings):
    steps: int = _f(3, "steps", whole(1))
    rate: float = _f(0.5, "a rate", number(above=0, below=1))
    limit: Optional[int] = _f(None, "a limit", optional(whole(0)))
    loud: bool = _f(False, "say more")
    name: str = _f("x", "a name")


def test_settings_check_names_the_setting_the_value_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"rate must be a number > 0 and < 1, not 1.5"):
        Toy(rate=1.5)
    with pytest.raises(ValueError, match=r"steps must be a whole number >= 1, not True"):
        Toy(steps=True)
    with pytest.raises(ValueError, match=r"limit must be None or a whole number >= 0, not -2"):
        Toy(limit=-2)
    allowed = r"allowed: \['limit', 'loud', 'name', 'rate', 'steps'\]"
    with pytest.raises(ValueError, match=r"unknown toy setting 'stepz'; " + allowed):
        Toy.build(None, {"stepz": 2}, "toy")
    assert Toy.build(Toy(steps=5), {"rate": 0.25}, "toy") == Toy(steps=5, rate=0.25)
    for bad in (lambda: R.PPOConfig(kl_coef=-0.1), lambda: R.DPOConfig(beta=0), lambda: C.SFTConfig(dropout=1.0),
                lambda: R.RewardModelConfig(batch_size=0), lambda: R.PPOConfig(gamma=1.5)):
        with pytest.raises(ValueError, match="must be"):
            bad()


def test_flags_come_from_the_fields():
    parser = argparse.ArgumentParser()
    names = add_flags(parser, Toy, skip=("name",), prefix="t-", defaults={"steps": 9})
    assert names == ["steps", "rate", "limit", "loud"]
    args = parser.parse_args(["--t-limit", "none", "--t-loud", "--t-rate", "0.1"])
    assert from_flags(args, names, "t-") == {"steps": 9, "rate": 0.1, "limit": None, "loud": True}
    assert parser.parse_args(["--t-limit", "4", "--no-t-loud"]).t_limit == 4
    quiet = argparse.ArgumentParser()
    add_flags(quiet, Toy, use_defaults=False, choices={"name": ("x", "y")})
    assert vars(quiet.parse_args([])) == dict.fromkeys(("steps", "rate", "limit", "loud", "name"))
    with pytest.raises(SystemExit):
        quiet.parse_args(["--name", "z"])


def test_unknown_keyword_settings_are_refused(chat_tokenizer, make_chat_model):
    model = make_chat_model()
    with pytest.raises(ValueError, match="unknown SFT setting 'stepz'"):
        C.sft(model, chat_tokenizer, DIALOGUES, stepz=3)
    with pytest.raises(ValueError, match="unknown DPO setting 'kl_coef'"):
        R.dpo(model, make_chat_model(), chat_tokenizer, PAIRS, kl_coef=0.1)
    with pytest.raises(ValueError, match="unknown reward model setting 'beta'"):
        R.train_reward_model(R.RewardModel(model), chat_tokenizer, PAIRS, beta=0.1)


def test_a_config_or_keywords_give_the_same_run(chat_tokenizer, make_chat_model):
    def run(**how):
        log = R.dpo(make_chat_model(), make_chat_model(), chat_tokenizer, PAIRS, progress=False, **how)
        return [{k: v for k, v in e.items() if "seconds" not in k} for e in log]

    assert run(steps=2, batch_size=1, lr=3e-3) == run(config=R.DPOConfig(steps=2, batch_size=1, lr=3e-3))


def test_every_loop_sends_trainer_events_the_dashboard_shows(chat_tokenizer, make_chat_model):
    from course_lib.widgets.dashboard import TrainingDashboard

    tok = chat_tokenizer
    runs = {
        "sft": lambda cb: C.sft(make_chat_model(), tok, DIALOGUES, steps=3, batch_size=1, progress=False,
                                callback=cb),
        "reward model": lambda cb: R.train_reward_model(R.RewardModel(make_chat_model()), tok, PAIRS, steps=3,
                                                        batch_size=2, progress=False, callback=cb),
        "dpo": lambda cb: R.dpo(make_chat_model(), make_chat_model(), tok, PAIRS, steps=3, batch_size=1,
                                progress=False, callback=cb),
        "ppo": lambda cb: R.ppo(make_chat_model(), make_chat_model(), R.RewardModel(make_chat_model()), tok,
                                ["Hello!"], steps=3, prompts_per_step=2, max_new_tokens=3, progress=False,
                                callback=cb),
    }
    for name, train in runs.items():
        events, dashboard = [], TrainingDashboard(title=name, min_interval=0)

        def both(event):
            events.append(event)
            dashboard.callback(event)

        log = train(both)
        steps = [e for e in events if e["kind"] == "step"]
        assert [e["kind"] for e in events] == ["step"] * 3 + ["end"], name
        assert all(TRAINER_KEYS <= set(e) for e in events), name
        assert [e["step"] for e in steps] == [e["step"] for e in log] == [1, 2, 3]
        assert steps[-1]["tokens"] > steps[0]["tokens"] > 0 and steps[-1]["train_loss"] is not None
        extra = {"sft": "answer_tokens", "reward model": "accuracy", "dpo": "margin", "ppo": "kl"}[name]
        assert [e[extra] for e in steps] == [e[extra] for e in log]
        assert events[-1]["status"] == "done" and events[-1]["steps"] == 3
        assert len(dashboard.history["train_loss"]) == 3 and "finished (done)" in dashboard.fig.layout.title.text


def test_a_callback_returning_false_stops_the_run(chat_tokenizer, make_chat_model):
    events = []

    def stop_after_two(event):
        events.append(event)
        return event["step"] < 2

    log = C.sft(make_chat_model(), chat_tokenizer, DIALOGUES, steps=5, batch_size=1, progress=False,
                callback=stop_after_two)
    assert len(log) == 2 and events[-1]["kind"] == "end" and events[-1]["status"] == "stopped"


# --- issue 13, point 5: every argument checked up front, a NaN loss stops the run ----------------

def test_every_loop_stops_on_a_nan_loss_naming_the_step_and_keeps_the_weights(chat_tokenizer, make_chat_model):
    import torch

    from course_lib.train import TrainingDiverged

    tok = chat_tokenizer

    def poisoned_at_step_2(model):
        snapshot = {}

        def callback(event):
            if event["kind"] == "step" and event["step"] == 2:
                with torch.no_grad():  # a reward model's score, or a GPT's every logit, becomes NaN
                    (model.head.bias if hasattr(model, "head") else model.tok_emb.weight)[:] = float("nan")
                snapshot.update({k: v.clone() for k, v in model.state_dict().items()})
        return callback, snapshot

    policy, rm = make_chat_model(), R.RewardModel(make_chat_model())
    runs = {
        "SFT": (lambda m, cb: C.sft(m, tok, DIALOGUES, steps=5, batch_size=1, progress=False, callback=cb),
                make_chat_model()),
        "the reward model": (lambda m, cb: R.train_reward_model(m, tok, PAIRS, steps=5, batch_size=2,
                                                                progress=False, callback=cb), R.RewardModel(make_chat_model())),
        "DPO": (lambda m, cb: R.dpo(m, make_chat_model(), tok, PAIRS, steps=5, batch_size=1, progress=False,
                                    callback=cb), make_chat_model()),
        "PPO": (lambda m, cb: R.ppo(policy, make_chat_model(), m, tok, ["Hello!"], steps=5, prompts_per_step=2,
                                    max_new_tokens=3, progress=False, callback=cb), rm),
    }
    for what, (train, model) in runs.items():
        callback, snapshot = poisoned_at_step_2(model)
        with pytest.raises(TrainingDiverged, match=f"{what} diverged at step 3: the loss became nan.*smaller "
                                                   "learning rate"):
            train(model, callback)
        state = model.state_dict()
        assert all(torch.equal(state[k].nan_to_num(), v.nan_to_num()) for k, v in snapshot.items()), what


def test_loop_arguments_that_are_not_settings_are_checked_too(chat_tokenizer, make_chat_model):
    model = make_chat_model()
    with pytest.raises(ValueError, match="callback must be a function"):
        R.dpo(model, make_chat_model(), chat_tokenizer, PAIRS, steps=1, progress=False, callback=3)
    with pytest.raises(ValueError, match="dialogues must be a non-empty list"):
        C.sft(model, chat_tokenizer, "abc", steps=1, progress=False)  # was: NaN losses, silently
    with pytest.raises(ValueError, match="no dialogue has an assistant turn"):
        C.sft(model, chat_tokenizer, [[{"role": "user", "content": "Hi"}]], steps=1, progress=False)
    for bad in (float("nan"), float("inf"), -1.0, 0, "1e-3", None):
        for run in (lambda: C.sft(model, chat_tokenizer, DIALOGUES, lr=bad),
                    lambda: R.dpo(model, model, chat_tokenizer, PAIRS, lr=bad),
                    lambda: R.train_reward_model(R.RewardModel(model), chat_tokenizer, PAIRS, lr=bad),
                    lambda: R.ppo(model, model, R.RewardModel(model), chat_tokenizer, ["Hi"], lr=bad)):
            with pytest.raises(ValueError, match="lr must be a number > 0"):
                run()
    with pytest.raises(ValueError, match="PPO needs a non-empty list of prompts"):
        R.ppo(model, model, R.RewardModel(model), chat_tokenizer, "Hello!", steps=1, progress=False)
    with pytest.raises(ValueError, match="beta must be a number > 0, not -1"):
        R.dpo(model, model, chat_tokenizer, PAIRS, beta=-1)
