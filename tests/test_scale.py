"""course_lib.scale: the two famous figures, 6ND, and the parameter formula."""
import math

import pytest

from course_lib import scale
from course_lib.model import GPT, GPTConfig


def test_gpt3_dataset_takes_over_2600_years_to_read():
    gpt3 = scale.KNOWN_MODELS["GPT-3"]
    assert gpt3["dataset_tokens"] == 499e9  # 410 + 19 + 12 + 55 + 3 billion (Table 2.2)
    years = scale.reading_years(gpt3["dataset_tokens"], words_per_token=0.75, words_per_minute=250, hours_per_day=24)
    assert years > 2600
    assert years == pytest.approx(499e9 * 0.75 / 250 / 525_600)  # about 2,848
    assert round(years) == 2848
    # The 300B tokens GPT-3 trained on alone would not reach 2,600 years: the figure is the dataset.
    assert 1700 < scale.reading_years(300e9) < 1720


def test_reading_years_scales_as_expected():
    base = scale.reading_years(1e9)
    assert scale.reading_years(2e9) == pytest.approx(2 * base)
    assert scale.reading_years(1e9, hours_per_day=8) == pytest.approx(3 * base)
    assert scale.reading_years(1e9, words_per_minute=500) == pytest.approx(base / 2)


def test_largest_model_takes_over_100_million_years_to_compute():
    llama = scale.KNOWN_MODELS["Llama 3.1 405B"]
    ops = scale.training_ops(llama["params"], llama["tokens"])
    assert ops == pytest.approx(6 * 405e9 * 15.6e12)
    assert ops == pytest.approx(llama["stated_ops"], rel=0.01)  # Meta states 3.8e25 FLOPs
    years = scale.compute_years(ops, ops_per_second=1e9)
    assert years > 1e8
    assert years == pytest.approx(1.2e9, rel=0.01)


def test_gpt3_compute_matches_the_paper():
    gpt3 = scale.KNOWN_MODELS["GPT-3"]
    ops = scale.training_ops(gpt3["params"], gpt3["tokens"])
    assert ops == pytest.approx(gpt3["stated_ops"], rel=0.01)  # Table D.1: 3.14e23
    assert scale.compute_years(ops) == pytest.approx(1.0e7, rel=0.01)


def test_presets_reproduce_both_figures():
    reading = scale.PRESETS["GPT-3's whole dataset (3Blue1Brown: 2,600+ years)"]
    assert scale.reading_years(reading["read_tokens"], reading["words_per_token"], reading["words_per_minute"],
                               reading["hours_per_day"]) > 2600
    compute = scale.PRESETS["Llama 3.1 405B (3Blue1Brown: 100 million+ years)"]
    ops = scale.training_ops(compute["params"], compute["train_tokens"])
    assert scale.compute_years(ops, compute["ops_per_second"]) > 1e8


@pytest.mark.parametrize(
    "n_layer, n_embd, n_head, vocab_size, block_size, bias",
    [(2, 32, 2, 40, 32, True), (3, 48, 4, 300, 16, False), (6, 256, 8, 2048, 256, True), (1, 8, 1, 5, 3, True)],
)
def test_param_formula_is_exact_for_our_gpt(n_layer, n_embd, n_head, vocab_size, block_size, bias):
    config = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                       bias=bias)
    assert scale.gpt_param_count(n_layer, n_embd, vocab_size, block_size, bias=bias) == GPT(config).num_params()


@pytest.mark.parametrize("bias", [True, False])
def test_flops_per_token_is_6n_plus_attention(bias):
    config = GPTConfig(vocab_size=70, block_size=64, n_layer=3, n_head=4, n_embd=48, bias=bias)
    model = GPT(config)
    n = model.num_params() - model.pos_emb.weight.numel()  # the position table is a lookup: no operations
    assert scale.flops_per_token(config) == 6 * n + 12 * 3 * 64 * 48
    gpt2 = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    assert scale.flops_per_token(gpt2) == pytest.approx(6 * (124_439_808 - 1024 * 768) + 12 * 12 * 1024 * 768)


def test_mfu_needs_a_known_peak():
    config = GPTConfig(vocab_size=70, block_size=64, n_layer=2, n_head=2, n_embd=32)
    assert scale.peak_flops("cpu") is None and scale.mfu(config, 1000.0, None) is None
    assert scale.mfu(config, 1e6, 1e12) == pytest.approx(scale.flops_per_token(config) * 1e6 / 1e12)
    assert scale.mfu(config, 1e6, 1e12, n_devices=4) == pytest.approx(scale.mfu(config, 1e6, 1e12) / 4)
    assert dict(scale.PEAK_FLOPS)["H100"] == 989e12


def test_param_formula_for_known_models():
    gpt2 = scale.KNOWN_MODELS["GPT-2 small"]
    assert scale.gpt_param_count(12, 768, 50257, 1024) == gpt2["params"] == 124_439_808
    gpt3 = scale.KNOWN_MODELS["GPT-3"]
    count = scale.gpt_param_count(gpt3["n_layer"], gpt3["n_embd"], gpt3["vocab_size"], gpt3["block_size"])
    assert count == pytest.approx(175e9, rel=0.01)


def test_every_known_model_has_a_source():
    for name, model in scale.KNOWN_MODELS.items():
        assert model["source"] and model["params"] > 0, name
    for key in ("words per token", "reading speed", "6ND"):
        assert scale.SOURCES[key]


def test_explanations_show_the_arithmetic():
    text = scale.explain_reading(499e9)
    assert "499 billion tokens × 0.75" in text and "÷ 250 words per minute" in text
    assert text.splitlines()[-1].endswith("2,848 years of reading")
    text = scale.explain_compute(405e9, 15.6e12)
    assert text.startswith("6 × 405 billion parameters × 15.6 trillion tokens = 3.79 × 10^25 operations")
    assert text.splitlines()[-1].endswith("1.2 billion years of computing")


def test_human_numbers():
    assert scale.human(2848.17) == "2,848"
    assert scale.human(1.5e9) == "1.5 billion"
    assert scale.human(3.79e25) == "3.79 × 10^25"
    assert scale.human(9.9996e15) == "1 × 10^16"
    assert scale.human(0.5) == "0.5"


@pytest.mark.parametrize(
    "call",
    [
        lambda: scale.reading_years(0),
        lambda: scale.reading_years(1e9, words_per_minute=-1),
        lambda: scale.reading_years(1e9, hours_per_day=25),
        lambda: scale.training_ops(float("nan"), 1e9),
        lambda: scale.compute_years(1e20, ops_per_second=0),
        lambda: scale.gpt_param_count(0, 8, 10, 4),
        lambda: scale.gpt_param_count(1, 8.5, 10, 4),
        lambda: scale.measure_cpu_flops(n=0),
    ],
)
def test_bad_numbers_are_explained(call):
    with pytest.raises(ValueError, match="must be"):
        call()


def test_measure_cpu_flops_is_a_plausible_speed():
    speed = scale.measure_cpu_flops(n=128, repeats=2)
    assert 1e6 < speed < 1e15 and math.isfinite(speed)
