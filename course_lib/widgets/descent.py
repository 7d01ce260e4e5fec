"""Gradient descent on one dial: sliders for the start and the learning rate, the steps drawn
on the loss curve (lesson 03).

    >>> explorer = DescentExplorer(descend, loss_of, f)   # the lesson's own functions
    >>> explorer.lr = 10.0                                # the steps overshoot
    >>> explorer.path[-1]                                 # where the dial ended

The lesson writes `descend(start, lr) -> (S+1,) dial values` and `loss_of(w)`; the explorer
only draws them, so what the learner sees is their own code running.
"""
import ipywidgets as W
import plotly.graph_objects as go
import torch

from .base import Explorer, control_value
from .figure import LiveFigure
from .style import BAR, CHOSEN, base_layout


class DescentExplorer(Explorer):
    """Python API: properties `start`, `lr`; read back `path` (the dial after each step),
    `final_probability` (sigmoid of the last dial), `fig`, `result_text`."""

    def __init__(self, descend, loss_of, f, start=-2.0, lr=3.0, w_range=(-14.0, 14.0)):
        super().__init__()
        self.descend, self.loss_of, self.f = descend, loss_of, f
        ws = torch.linspace(w_range[0], w_range[1], 561, dtype=torch.float64)
        self.fig = LiveFigure(layout=base_layout("Gradient descent on one dial: move the sliders",
                                                 height=420, width=760, xaxis_title="dial w",
                                                 yaxis_title="loss (nats)"))
        self.fig.add_scatter(x=ws.tolist(), y=loss_of(ws).tolist(), mode="lines", name="loss L(w)",
                             line=dict(color=BAR, width=3))
        self.fig.add_scatter(mode="lines+markers+text", name="the steps", textposition="top center",
                             line=dict(color=CHOSEN, width=1), marker=dict(color=CHOSEN, size=9))
        style = {"description_width": "initial"}
        self.start_slider = W.FloatSlider(value=start, min=-4.5, max=4.5, step=0.5, description="start w", style=style)
        self.lr_slider = W.FloatSlider(value=lr, min=0.1, max=12.0, step=0.1, description="learning rate", style=style)
        self.result = W.HTML()
        for slider in (self.start_slider, self.lr_slider):
            slider.observe(lambda change: self.update(), "value")
        self.widget = W.VBox([W.HBox([self.start_slider, self.lr_slider]), self.fig, self.result, self.message_area])
        self.update()

    start = control_value("start_slider")
    lr = control_value("lr_slider")

    @property
    def final_probability(self) -> float:
        return torch.sigmoid(self.path[-1]).item()

    @property
    def result_text(self) -> str:
        return self.result.value

    def update(self):
        with self.errors_as_messages():
            self.path = path = torch.as_tensor(self.descend(self.start, self.lr), dtype=torch.float64)
            losses = self.loss_of(path)
            with self.fig.batch_update():
                steps = self.fig.data[1]
                steps.x, steps.y = path.tolist(), losses.tolist()
                steps.text = [str(i) if i in (0, 1, 2, len(path) - 1) else "" for i in range(len(path))]
                self.fig.layout.xaxis.range = [min(-5.0, path.min().item() - 0.5), max(5.0, path.max().item() + 0.5)]
                self.fig.layout.yaxis.range = [0.6, max(2.8, losses.max().item() + 0.2)]
            self.result.value = (f"after {len(path) - 1} steps: w = {path[-1]:.3f}, so P(e after th) = "
                                 f"{self.final_probability:.3f} (the corpus count: {self.f:.3f})")
            self.clear_message()

    def static(self):
        """The figure as it is now (for pages read without a kernel)."""
        return go.Figure(self.fig)
