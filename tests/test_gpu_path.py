"""The GPU check's logic, run on the CPU with tiny shapes (the real figures need a GPU)."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import gpu_check  # noqa: E402


def test_variants_combine_and_unknown_parts_are_refused():
    assert gpu_check.variant_settings("base") == {}
    assert gpu_check.variant_settings("fused+nobias") == {"fused_loss": True, "bias": False}
    with pytest.raises(ValueError, match="unknown variant part 'turbo'"):
        gpu_check.variant_settings("fused+turbo")


def test_smoke_run_measures_every_variant(tmp_path):
    proc = subprocess.run([sys.executable, "bench/gpu_check.py", "--smoke", "--seconds", "1", "--skip-real-run",
                           "--variants", "base", "fused+nobias", "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| fused+nobias |" in proc.stdout
    import json

    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert set(result["variants"]) == {"base", "fused+nobias"}
    assert result["variants"]["fused+nobias"]["settings"] == {"fused_loss": True, "bias": False}
    assert all(r["tokens_per_s"] > 0 for r in result["variants"].values())


def test_the_gpu_session_script_parses_and_its_commands_exist():
    script = REPO / "scripts" / "gpu_session.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    for module in ("course_lib.chat sft", "course_lib.rlhf ppo", "course_lib.rlhf dpo", "course_lib.train"):
        assert module in text
    # every flag the script passes to the course's commands is one they accept
    for cmd, flags in (("course_lib.chat", ["sft", "--base", "--steps", "--out", "--device"]),
                       ("course_lib.rlhf", ["ppo", "--sft", "--steps", "--rm-steps", "--out", "--save-rm", "--device"]),
                       ("course_lib.rlhf", ["dpo", "--sft", "--steps", "--out", "--device"])):
        helptext = subprocess.run([sys.executable, "-m", cmd, flags[0], "--help"], cwd=REPO, capture_output=True,
                                  text=True).stdout
        assert all(f in helptext for f in flags[1:]), (cmd, flags)


def test_fine_tuning_commands_use_bf16_only_on_a_gpu():
    import torch

    from course_lib.device import autocast

    with autocast("cpu"):
        assert not torch.is_autocast_enabled("cpu")  # fp32 on the CPU: the shipped recipes' numbers
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():  # only where a GPU is lent
        with autocast("cuda"):
            assert torch.get_autocast_dtype("cuda") == torch.bfloat16
