"""course_lib.rlhf as a package: the rater without torch, the dialogue generator on top of
it, lazy re-exports, and command lines generated from the settings dataclasses."""
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import rlhf

REPO = Path(__file__).resolve().parent.parent

NO_TORCH = """
import sys
sys.path.insert(0, {repo!r})
from course_lib.rlhf import rater
from course_lib import rlhf
assert rlhf.rate("What is 2 plus 3?", "2 plus 3 is 5.")[0] == rater.W_CORRECT
assert rlhf.is_correct("Who wrote Hamlet?", "Shakespeare.") and rater.opposite("cold") == "hot"
assert "torch" not in sys.modules, "importing the rater imported torch"
"""


def test_the_rater_imports_without_torch():
    subprocess.run([sys.executable, "-c", NO_TORCH.format(repo=str(REPO))], check=True, timeout=60)


GENERATE = """
import runpy, sys
sys.argv = ["make_dialogues.py", "--out", {out!r}]
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as stop:
    assert not stop.code, stop.code
assert "torch" not in sys.modules, "make_dialogues.py imported torch"
"""


def test_make_dialogues_needs_no_torch_and_remakes_the_committed_files(tmp_path):
    script = REPO / "scripts" / "make_dialogues.py"
    subprocess.run([sys.executable, "-c", GENERATE.format(out=str(tmp_path), script=str(script))], check=True,
                   timeout=120, capture_output=True)
    committed = sorted((REPO / "data" / "dialogues").glob("*.jsonl"))
    assert [p.name for p in committed] == sorted(p.name for p in tmp_path.glob("*.jsonl"))
    for path in committed:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs"


def test_every_public_name_resolves_and_ppo_dpo_stay_functions():
    for name in rlhf.__all__:
        assert getattr(rlhf, name) is not None
    for module in ("rater", "preferences", "scoring", "reward_model", "ppo_training", "dpo_training", "evaluation"):
        assert rlhf.__getattr__(module).__name__ == f"course_lib.rlhf.{module}"
    # Importing a submodule sets the package's attribute of its name: none may hide a function.
    assert callable(rlhf.ppo) and callable(rlhf.dpo) and rlhf.ppo.__module__ == "course_lib.rlhf.ppo_training"
    assert set(rlhf.__all__) <= set(dir(rlhf))
    with pytest.raises(AttributeError, match="no attribute 'final_hidden'"):
        rlhf.final_hidden  # noqa: B018 (replaced by GPT.hidden)


def flags(parser, command):
    """{dest: default} of one subcommand's flags."""
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.dest: a.default for a in sub._actions if a.option_strings and a.dest != "help"}


def test_command_line_flags_come_from_the_settings():
    from course_lib import chat
    from course_lib.rlhf.__main__ import build_parser

    parser = build_parser()
    ppo = flags(parser, "ppo")
    for name, value in rlhf.PPOConfig().to_dict().items():
        if name != "seed":
            assert ppo[name] == value
    rm = rlhf.RewardModelConfig()
    assert (ppo["rm_steps"], ppo["rm_batch_size"], ppo["rm_lr"], ppo["rm_train_blocks"]) == (
        rm.steps, rm.batch_size, rm.lr, None)
    dpo = flags(parser, "dpo")
    assert {k: dpo[k] for k in ("steps", "batch_size", "lr", "beta", "sft_weight")} == {
        k: getattr(rlhf.DPOConfig(), k) for k in ("steps", "batch_size", "lr", "beta", "sft_weight")}
    hack = flags(parser, "hack")
    assert (hack["steps"], hack["prompts_per_step"], hack["kl_coefs"]) == (60, 16, [0.0, rlhf.PPOConfig.kl_coef])
    args = parser.parse_args(["ppo", "--sft", "a", "--out", "b", "--train-blocks", "none", "--kl-coef", "0"])
    assert args.train_blocks is None and args.kl_coef == 0.0
    sft = flags(chat.build_parser(), "sft")
    assert {k: sft[k] for k in chat.SFT_FLAGS} == {k: getattr(chat.SFTConfig(), k) for k in chat.SFT_FLAGS}


def test_a_bad_setting_on_the_command_line_is_a_clear_error_before_any_loading(capsys):
    from course_lib.rlhf.__main__ import main

    missing = str(REPO / "no-such-checkpoint")
    assert main(["dpo", "--sft", missing, "--out", "x", "--beta", "0"]) == 1
    assert "beta must be a number > 0, not 0.0" in capsys.readouterr().err
    assert main(["hack", "--sft", missing, "--steps", "0"]) == 1
    assert "steps must be a whole number >= 1, not 0" in capsys.readouterr().err
    assert main(["ppo", "--sft", missing, "--out", "x", "--rm-train-blocks", "-1"]) == 1
    assert "train_blocks must be None or a whole number >= 0, not -1" in capsys.readouterr().err
    assert main(["eval", "--sft", missing, "--models", "y"]) == 1
    assert "no-such-checkpoint" in capsys.readouterr().err
