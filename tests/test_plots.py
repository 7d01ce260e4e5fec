"""The lessons' static charts and the gradient-descent explorer draw what they are given."""
import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from course_lib import plots  # noqa: E402


def test_show_matrix_writes_the_numbers_and_hides_the_masked_cells():
    m = torch.tensor([[0.25, 0.75], [0.5, 0.5]])
    masked = torch.tensor([[False, True], [False, False]])
    ax = plots.show_matrix(m, rows=["a", "b"], cols=["x", "y"], title="t", masked=masked)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.25", "hidden", "0.50", "0.50"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    with pytest.raises(ValueError, match="2 row and 3 column labels"):
        plots.show_matrix(m, rows=["a", "b"], cols=["x", "y", "z"], title="t")


def _one_dial(f=0.3):
    def loss_of(w):
        p = torch.sigmoid(w)
        return -(f * torch.log(p) + (1 - f) * torch.log(1 - p))

    def descend(start, lr, steps=15):
        w, path = torch.tensor(float(start), dtype=torch.float64), [float(start)]
        for _ in range(steps):
            w = w - lr * (torch.sigmoid(w) - f)
            path.append(w.item())
        return torch.tensor(path, dtype=torch.float64)

    return loss_of, descend, f


def test_plot_descent_draws_the_path_and_the_lowest_loss():
    loss_of, descend, f = _one_dial()
    path = descend(-2.0, 3.0)
    fig = plots.plot_descent(path, loss_of, lowest_w=math.log(f / (1 - f)), lr=3.0)
    left, right = fig.axes
    assert list(left.lines[1].get_xdata()) == path.tolist()
    assert right.lines[1].get_ydata()[0] == pytest.approx(loss_of(torch.tensor(math.log(f / (1 - f)))).item())


def test_descent_explorer_follows_its_sliders():
    from course_lib.widgets import DescentExplorer

    loss_of, descend, f = _one_dial()
    explorer = DescentExplorer(descend, loss_of, f)
    assert list(explorer.fig.data[1].x) == descend(-2.0, 3.0).tolist()
    assert explorer.final_probability == pytest.approx(f, abs=1e-3)  # it found the count
    explorer.lr = 11.0
    assert list(explorer.fig.data[1].x) == descend(-2.0, 11.0).tolist()
    assert "P(e after th)" in explorer.result_text
    assert explorer.static().data[1].x == explorer.fig.data[1].x


def test_smooth_is_a_trailing_mean():
    assert plots.smooth([1, 2, 3, 4], k=2) == [1, 1.5, 2.5, 3.5]


def test_plot_reward_hacking_draws_one_line_per_run_in_each_panel():
    from course_lib import rlhf

    run = rlhf.load_hacking_run()
    styles = {coef: (f"kl_coef {coef}", "#000000") for coef in run["logs"]}
    fig = plots.plot_reward_hacking(run, styles)
    assert [len(ax.lines) for ax in fig.axes] == [len(run["logs"])] * 3
    first_log = next(iter(run["logs"].values()))
    assert list(fig.axes[2].lines[0].get_ydata()) == plots.smooth([e["kl"] for e in first_log])
