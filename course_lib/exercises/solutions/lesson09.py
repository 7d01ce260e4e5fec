"""Lesson 09 · reading years and training years: the reference solutions (instructor edition only)."""


def reading_years_solution(tokens, words_per_token, words_per_minute, hours_per_day):
    """Years a person needs to read `tokens` tokens, reading `hours_per_day` hours every day."""
    words = tokens * words_per_token
    minutes = words / words_per_minute
    days = minutes / (hours_per_day * 60)
    return days / 365


def training_years_solution(params, tokens, ops_per_second):
    """Years of computing: about 6 operations per weight per token, at ops_per_second."""
    ops = 6 * params * tokens  # 2 in the forward pass, 4 in the backward pass
    seconds = ops / ops_per_second
    return seconds / (365 * 24 * 3600)
