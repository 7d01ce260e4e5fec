"""How big is big? Reading time, training compute and parameter counts, from stated numbers.

Two famous figures from 3Blue1Brown's "Large Language Models explained briefly" (2024),
reproduced from published numbers:

1. A person reading GPT-3's training text non-stop would need over 2,600 years.
   GPT-3's dataset (Brown et al. 2020, Table 2.2) holds 410 + 19 + 12 + 55 + 3 = 499 billion
   tokens; at ~0.75 English words per token and 250 words a minute, 24 hours a day:
   499e9 x 0.75 / 250 / 60 / 24 / 365 = about 2,848 years. (The 300 billion tokens GPT-3
   actually trained on would take about 1,712 years.)
2. At one billion operations a second, training the largest models would take over 100
   million years. Training costs about 6 x parameters x tokens operations (2 for the
   forward pass, 4 for the backward pass, per parameter per token; Kaplan et al. 2020).
   Llama 3.1 405B: 6 x 405e9 x 15.6e12 = 3.8e25 operations (Meta states 3.8e25 FLOPs);
   / 1e9 per second = 1.2 billion years.

Every function is plain arithmetic; `explain_reading` and `explain_compute` write the
steps out so a learner can check them.
"""
import math
import statistics
import time

MINUTES_PER_DAY = 24 * 60
DAYS_PER_YEAR = 365  # 525,600 minutes in a (non-leap) year
SECONDS_PER_YEAR = DAYS_PER_YEAR * 24 * 3600

WORDS_PER_TOKEN = 0.75  # OpenAI's rule of thumb for English: 1 token ~ 3/4 of a word
WORDS_PER_MINUTE = 250  # silent reading; Brysbaert (2019) finds ~238 (non-fiction) to ~260 (fiction)

SOURCES = {
    "words per token": (
        "OpenAI, 'What are tokens and how to count them?' (help.openai.com): "
        "'1 token ~= 3/4 words' for common English text"
    ),
    "reading speed": (
        "Brysbaert, M. (2019), 'How many words do we read per minute? A review and meta-analysis "
        "of reading rate', Journal of Memory and Language 109: adults read 238 words/min "
        "(non-fiction) to 260 words/min (fiction) silently; we use 250"
    ),
    "6ND": (
        "Kaplan et al. (2020), 'Scaling Laws for Neural Language Models', section 2.1: "
        "training compute C ~ 6 N D (N parameters, D tokens)"
    ),
    "GPT-3": (
        "Brown et al. (2020), 'Language Models are Few-Shot Learners': Table 2.1 (175B "
        "parameters, 96 layers, width 12288, context 2048), Table 2.2 (dataset: Common Crawl "
        "410B + WebText2 19B + Books1 12B + Books2 55B + Wikipedia 3B tokens; 300B tokens "
        "trained), Table D.1 (3.14e23 FLOPs)"
    ),
    "Llama 3.1 405B": (
        "Llama Team, Meta (2024), 'The Llama 3 Herd of Models': 405B parameters, 126 layers, "
        "width 16,384, pre-trained on 15.6T tokens with 3.8e25 FLOPs"
    ),
    "GPT-2 small": (
        "Radford et al. (2019), 'Language Models are Unsupervised Multitask Learners': "
        "12 layers, width 768, vocabulary 50,257, context 1024 (124M parameters counted "
        "exactly; the paper rounds to 117M)"
    ),
}

# Models with published sizes. `tokens`: tokens trained on; `dataset_tokens`: the size of
# the training set; `stated_ops`: the training compute the authors state.
KNOWN_MODELS = {
    "GPT-2 small": dict(
        params=124_439_808, n_layer=12, n_embd=768, vocab_size=50257, block_size=1024,
        tokens=None, source=SOURCES["GPT-2 small"],
    ),
    "GPT-3": dict(
        params=175e9, n_layer=96, n_embd=12288, vocab_size=50257, block_size=2048,
        tokens=300e9, dataset_tokens=(410 + 19 + 12 + 55 + 3) * 1e9, stated_ops=3.14e23,
        source=SOURCES["GPT-3"],
    ),
    "Llama 3.1 405B": dict(
        params=405e9, n_layer=126, n_embd=16384, vocab_size=128_256, block_size=8192,
        tokens=15.6e12, stated_ops=3.8e25, source=SOURCES["Llama 3.1 405B"],
    ),
}

# The two famous figures, as calculator settings (used by ScaleCalculator's presets).
PRESETS = {
    "GPT-3's whole dataset (3Blue1Brown: 2,600+ years)": dict(
        read_tokens=KNOWN_MODELS["GPT-3"]["dataset_tokens"], train_tokens=300e9, params=175e9,
        words_per_token=WORDS_PER_TOKEN, words_per_minute=WORDS_PER_MINUTE, hours_per_day=24,
        ops_per_second=1e9,
        note="Reading: GPT-3's full dataset, 499B tokens (Brown et al. 2020, Table 2.2). "
        "Computing: 175B parameters x 300B training tokens.",
    ),
    "Llama 3.1 405B (3Blue1Brown: 100 million+ years)": dict(
        read_tokens=15.6e12, train_tokens=15.6e12, params=405e9,
        words_per_token=WORDS_PER_TOKEN, words_per_minute=WORDS_PER_MINUTE, hours_per_day=24,
        ops_per_second=1e9,
        note="The largest model whose parameters, tokens and compute are all published "
        "(Meta 2024): 6 x 405e9 x 15.6e12 = 3.8e25 operations.",
    ),
    "GPT-3, only the 300B tokens it trained on": dict(
        read_tokens=300e9, train_tokens=300e9, params=175e9,
        words_per_token=WORDS_PER_TOKEN, words_per_minute=WORDS_PER_MINUTE, hours_per_day=24,
        ops_per_second=1e9,
        note="GPT-3 saw 300B tokens in training (some parts of the data less than once, "
        "some more than once): fewer years than the whole dataset.",
    ),
}


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return float(value)


def reading_years(tokens, words_per_token=WORDS_PER_TOKEN, words_per_minute=WORDS_PER_MINUTE, hours_per_day=24):
    """Years a person needs to read `tokens` tokens, reading `hours_per_day` hours every day."""
    tokens = _positive("tokens", tokens)
    words_per_token = _positive("words_per_token", words_per_token)
    words_per_minute = _positive("words_per_minute", words_per_minute)
    hours_per_day = _positive("hours_per_day", hours_per_day)
    if hours_per_day > 24:
        raise ValueError(f"hours_per_day must be at most 24, not {hours_per_day}")
    minutes = tokens * words_per_token / words_per_minute
    return minutes / (hours_per_day * 60) / DAYS_PER_YEAR


def training_ops(params, tokens):
    """Operations (additions and multiplications) to train: about 6 x params x tokens."""
    return 6.0 * _positive("params", params) * _positive("tokens", tokens)


def compute_years(ops, ops_per_second=1e9):
    """Years of computing at `ops_per_second` (one billion a second by default)."""
    return _positive("ops", ops) / _positive("ops_per_second", ops_per_second) / SECONDS_PER_YEAR


def gpt_param_count(n_layer, n_embd, vocab_size, block_size, bias=True):
    """Parameters of course_lib.model.GPT (tied output layer counted once).

    Per block: attention 4 d^2 (queries, keys, values, output) + feed-forward 8 d^2
    (d -> 4d -> d) = 12 d^2 weights, plus 9 d biases and two layer norms (2 d each).
    Plus the token table V d, the position table T d and the final layer norm.
    With bias=False the linear layers and layer norms have no biases (layer norms keep d).
    """
    for name, value in (("n_layer", n_layer), ("n_embd", n_embd), ("vocab_size", vocab_size), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, not {value!r}")
    d = n_embd
    norm = 2 * d if bias else d
    per_block = 12 * d * d + (9 * d if bias else 0) + 2 * norm
    return vocab_size * d + block_size * d + n_layer * per_block + norm


# ---------------------------------------------------------------------------------------
# Our own training: FLOPs per token and model FLOPs utilisation (MFU)
# ---------------------------------------------------------------------------------------

def flops_per_token(config) -> float:
    """Floating-point operations to train on one token: 6N + 12 L T C (config: a GPTConfig).

    N is the number of weights that multiply something: every parameter (`gpt_param_count`)
    except the position table (a lookup); the token table counts once, as the output layer.
    Each such weight costs 2 operations (a multiply and an add) in the forward pass and 4 in
    the backward pass: 6N. Attention's scores and weighted sums add 2 x 2 x T x C per token
    and layer forward, x3 with the backward pass: 12 L T C (PaLM's formula, T = the full context).
    """
    L, C, T = config.n_layer, config.n_embd, config.block_size
    n = gpt_param_count(L, C, config.vocab_size, T, bias=config.bias) - T * C
    return 6.0 * n + 12.0 * L * T * C


# Peak dense bf16 (fp16 where there is no bf16) tensor-core FLOP/s per GPU, from the vendors'
# data sheets. The first name found in torch.cuda.get_device_name() wins.
PEAK_FLOPS = (
    ("H200", 989e12),  # also GH200
    ("H100 NVL", 835e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM ("H100 80GB HBM3")
    ("H800", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
    ("V100", 125e12),  # fp16
    ("T4", 65e12),  # fp16
)


def peak_flops(device) -> float | None:
    """Peak FLOP/s of one device from PEAK_FLOPS; None for a CPU, MPS or an unknown GPU."""
    import torch

    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(device)
    for key, flops in PEAK_FLOPS:
        if key in name:
            return flops
    return None


def mfu(config, tokens_per_s: float | None, peak: float | None, n_devices: int = 1) -> float | None:
    """Model FLOPs utilisation: the fraction of the hardware's peak that the training used."""
    if peak is None or not tokens_per_s:
        return None
    return flops_per_token(config) * tokens_per_s / (peak * n_devices)


def human(x, digits=3) -> str:
    """Numbers for people: 2848.2 -> '2,848'; 1.5e9 -> '1.5 billion'; 3.8e25 -> '3.8 × 10^25'."""
    x = float(x)
    if x != x or math.isinf(x):
        return str(x)
    if abs(x) >= 1e15:
        exponent = math.floor(math.log10(abs(x)))
        mantissa = x / 10**exponent
        if round(mantissa, digits - 1) >= 10:  # 9.999e15 rounds up to 10 x 10^15
            mantissa, exponent = mantissa / 10, exponent + 1
        return f"{mantissa:.{digits}g} × 10^{exponent}"
    for value, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(x) >= value:
            return f"{x / value:.{digits}g} {name}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def explain_reading(tokens, words_per_token=WORDS_PER_TOKEN, words_per_minute=WORDS_PER_MINUTE, hours_per_day=24) -> str:
    """The reading-time arithmetic written out, one step per line."""
    years = reading_years(tokens, words_per_token, words_per_minute, hours_per_day)
    words = tokens * words_per_token
    minutes = words / words_per_minute
    days = minutes / (hours_per_day * 60)
    return "\n".join([
        f"{human(tokens)} tokens × {words_per_token:g} words per token = {human(words)} words",
        f"{human(words)} words ÷ {words_per_minute:g} words per minute = {human(minutes)} minutes",
        f"{human(minutes)} minutes ÷ ({hours_per_day:g} hours × 60 minutes a day) = {human(days)} days",
        f"{human(days)} days ÷ {DAYS_PER_YEAR} days a year = {human(years)} years of reading",
    ])


def explain_compute(params, tokens, ops_per_second=1e9) -> str:
    """The training-compute arithmetic written out, one step per line."""
    ops = training_ops(params, tokens)
    seconds = ops / ops_per_second
    years = compute_years(ops, ops_per_second)
    return "\n".join([
        f"6 × {human(params)} parameters × {human(tokens)} tokens = {human(ops)} operations",
        f"{human(ops)} operations ÷ {human(ops_per_second)} operations per second = {human(seconds)} seconds",
        f"{human(seconds)} seconds ÷ {human(SECONDS_PER_YEAR)} seconds a year = {human(years)} years of computing",
    ])


def measure_cpu_flops(n=1024, repeats=5, dtype=None) -> float:
    """This machine's speed at multiplying two n x n matrices, in operations per second.

    One matrix product is n^3 multiplications and n^3 additions (2 n^3 operations).
    Returns the median of `repeats` timed runs (after one warm-up run). Uses the CPU
    whatever other device is present, with torch's usual number of threads.
    """
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive whole number, not {n!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive whole number, not {repeats!r}")
    dtype = dtype or torch.float32
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator, dtype=dtype)
    b = torch.randn(n, n, generator=generator, dtype=dtype)
    a @ b  # warm-up: the first product pays for memory allocation
    speeds = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        speeds.append(2 * n**3 / max(time.perf_counter() - start, 1e-9))
    return statistics.median(speeds)
