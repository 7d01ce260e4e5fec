"""Lesson 07 · counting the GPT's weights: the reference solutions (instructor edition only)."""


def block_params_solution(n_embd: int) -> int:
    """Weights in one transformer block of width d = n_embd (with biases, as in GPT-2)."""
    d = n_embd
    attention = (d * 3 * d + 3 * d) + (d * d + d)  # queries/keys/values together, then the output projection
    feed_forward = (d * 4 * d + 4 * d) + (4 * d * d + d)  # widen to 4d, narrow back to d
    layer_norms = 2 * (d + d)  # two layer norms, each a gain and a shift per channel
    return attention + feed_forward + layer_norms  # = 12 d^2 + 13 d


def gpt_params_solution(n_layer: int, n_embd: int, vocab_size: int, block_size: int) -> int:
    """Weights in the whole GPT; the output layer shares the token table, so it adds nothing."""
    d = n_embd
    token_table = vocab_size * d
    position_table = block_size * d
    final_norm = 2 * d
    return token_table + position_table + n_layer * block_params_solution(d) + final_norm
