"""Lesson 08 · the learning-rate schedule: the reference solutions (instructor edition only)."""
import math


def lr_schedule_solution(step, max_lr, min_lr, warmup_steps, max_steps):
    """The learning rate for optimiser step `step` (counting from 0)."""
    if step < warmup_steps:  # warmup: max_lr / warmup_steps at step 0, max_lr at step warmup_steps - 1
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:  # after the planned end: stay at the floor
        return min_lr
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)  # 0 -> 1 over the decay
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)
