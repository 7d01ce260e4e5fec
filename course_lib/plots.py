"""Static charts the lessons draw (matplotlib), in the course's colours.

Each function draws one picture and returns its matplotlib Axes (or Figure), so a lesson
cell stays one line and a test can read what was drawn:

    >>> show_matrix(pattern, rows=tokens, cols=tokens, title="Who looks at whom", masked=future)
    >>> plot_descent(path, loss_of, lowest_w=0.3, lr=3.0)
    >>> plot_reward_hacking(rlhf.load_hacking_run())
    >>> plot_accuracy_by_task({"seen": rlhf.accuracy_by_task(m, tok, rlhf.seen_questions()), "held out": ...}, "...")
"""
import matplotlib.pyplot as plt
import torch

from .widgets.style import BAR, CHOSEN, HEATMAP_SCALE, MASKED, OKABE_ITO


def show_matrix(m, rows, cols, title, masked=None, ax=None, fmt="{:.2f}", vmin=None, vmax=None):
    """A small heatmap of m (R, C) with the numbers written in, rows and columns labelled.

    masked: (R, C) booleans; those cells are greyed out and read "hidden" (the causal mask).
    """
    m = torch.as_tensor(m, dtype=torch.float32)
    if m.dim() != 2 or m.shape != (len(rows), len(cols)):
        raise ValueError(f"the matrix has shape {tuple(m.shape)}, but there are {len(rows)} row and "
                         f"{len(cols)} column labels")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * len(cols) + 2.5, 0.75 * len(rows) + 1.5))
    shown = m.clone()
    if masked is not None:
        shown[masked] = float("nan")
    cmap = plt.get_cmap(HEATMAP_SCALE.lower()).copy()
    cmap.set_bad(MASKED)
    finite = m[~torch.isnan(shown)]
    lo = finite.min().item() if vmin is None else vmin
    hi = finite.max().item() if vmax is None else vmax
    ax.imshow(shown, cmap=cmap, vmin=lo, vmax=hi)
    for r in range(m.size(0)):
        for c in range(m.size(1)):
            if masked is not None and bool(masked[r, c]):
                ax.text(c, r, "hidden", ha="center", va="center", fontsize=11, color="#444")
            else:
                bright = (m[r, c].item() - lo) / max(hi - lo, 1e-9) > 0.6  # dark text on light cells
                ax.text(c, r, fmt.format(m[r, c].item()), ha="center", va="center", fontsize=11,
                        color="black" if bright else "white")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_title(title)
    return ax


def plot_descent(path, loss_of, lowest_w, lr, ws=None):
    """Gradient descent on one dial: the loss curve with the steps on it (left) and the
    loss after each step against the lowest possible loss (right). Returns the Figure.

    path: (S+1,) the dial after each step; loss_of: dial values -> loss; lowest_w: the best dial.
    """
    path = torch.as_tensor(path, dtype=torch.float64)
    ws = torch.linspace(-5, 5, 201, dtype=torch.float64) if ws is None else ws
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(ws, loss_of(ws), color=BAR, lw=2, label="loss L(w)")
    left.plot(path, loss_of(path), "-o", color=CHOSEN, ms=6, lw=1, label="the steps")
    for i in sorted({0, 1, 2, len(path) - 1} & set(range(len(path)))):
        left.annotate(str(i), (path[i], loss_of(path[i])), xytext=(4, 6), textcoords="offset points", fontsize=11)
    left.set(title=f"Gradient descent, lr = {lr}", xlabel="dial w", ylabel="loss (nats)", xlim=(-5, 5))
    left.legend()
    right.plot(range(len(path)), loss_of(path), "-o", color=CHOSEN, ms=5)
    right.axhline(float(loss_of(torch.tensor(float(lowest_w), dtype=torch.float64))),
                  color=OKABE_ITO["bluish green"], ls="--", label="lowest possible loss")
    right.set(title="The loss after each step", xlabel="step", ylabel="loss (nats)")
    right.legend()
    for a in (left, right):
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def smooth(values, k=5) -> list:
    """Mean of each value and the k-1 before it (one PPO step's answers are a noisy sample)."""
    return [sum(values[max(0, i - k + 1): i + 1]) / len(values[max(0, i - k + 1): i + 1]) for i in range(len(values))]


def plot_reward_hacking(run, styles, k=5):
    """Three panels over PPO steps, one line per run: the reward model's score, the rater's
    score and the KL from the SFT model. run: `rlhf.load_hacking_run()`'s dict;
    styles: {kl_coef as in run["logs"]: (label, colour)}. Returns the Figure."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = [("reward", "the reward model's score"), ("rater", "the rater's score"), ("kl", "KL from SFT (nats)")]
    for coef, log in run["logs"].items():
        label, colour = styles[coef]
        steps = [e["step"] for e in log]
        for ax, (key, _) in zip(axes, panels):
            ax.plot(steps, smooth([e[key] for e in log], k), color=colour, label=label, lw=2)
    for ax, (_, title) in zip(axes, panels):
        ax.set(title=title, xlabel="PPO step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"mean over the last {k} steps")
    axes[2].legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_grouped_bars(groups: dict, categories: list, title: str, ylabel: str, colours=None, ax=None,
                      percent: bool = True, ylim=None, xlabel: str = ""):
    """Bars side by side, one colour per group, with standard errors as whiskers.

    groups: {label: {category: (value, se)}} (a missing category draws no bar);
    categories: the x-axis order. percent: values are shares, shown 0-100%. Returns the Axes.
    """
    if not groups or not categories:
        raise ValueError("plot_grouped_bars needs at least one group and one category")
    colours = colours or [OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "reddish purple", "vermillion")]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 1.6 * len(categories) + 2), 4))
    width = 0.8 / len(groups)
    scale = 100 if percent else 1
    for g, (label, values) in enumerate(groups.items()):
        xs = [i + (g - (len(groups) - 1) / 2) * width for i, c in enumerate(categories) if c in values]
        ys = [scale * values[c][0] for c in categories if c in values]
        es = [scale * values[c][1] for c in categories if c in values]
        bars = ax.bar(xs, ys, width, yerr=es, capsize=3, color=colours[g % len(colours)], label=label)
        ax.bar_label(bars, labels=[f"{y:.0f}%" if percent else f"{y:.2g}" for y in ys], padding=2, fontsize=10)
    ax.set_xticks(range(len(categories)), categories)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel + (" (%)" if percent else ""))
    if percent:
        ax.set_ylim(0, 110 if ylim is None else ylim)  # room for the labels above a full bar
    elif ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the bars, never over them
    ax.figure.tight_layout()
    return ax


def plot_accuracy_by_task(reports: dict, title: str, ax=None):
    """Strict accuracy per task with its standard error, one colour per report.

    reports: {label: `rlhf.accuracy_by_task(...)`'s dict}; the tasks are those of the
    first report, then "all". Returns the Axes."""
    first = next(iter(reports.values()))
    tasks = [t for t in first if isinstance(first[t], dict) and t != "all"] + ["all"]
    groups = {label: {t: (r[t]["accuracy"], r[t]["se"]) for t in tasks if isinstance(r.get(t), dict)}
              for label, r in reports.items()}
    return plot_grouped_bars(groups, tasks, title, "right answers", ax=ax, xlabel="kind of question")
