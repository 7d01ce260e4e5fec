"""The induction-head experiment, drawn while it trains (lesson 12).

    >>> chart = InductionChart(config)            # shows two empty panels
    >>> run = induction.train_induction(config, callback=chart.record)

Left: the loss on the first copy of the random tokens (unpredictable) and on the second
(copying helps). Right: each head of block 1's induction score. Each `record(entry)` adds
one measurement (an entry of `InductionRun.history`).
"""
import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .base import Explorer
from .figure import LiveFigure
from .style import CHOSEN, OKABE_ITO, REST, base_layout

HEAD_COLOURS = ("blue", "orange", "bluish green", "reddish purple", "sky blue", "vermillion", "yellow")


class InductionChart(Explorer):
    """Python API: `record(entry)` (the training callback), read back `fig`, `steps_drawn`."""

    def __init__(self, config, layer: int = 1):
        super().__init__()
        if not 0 <= layer < config.n_layer:
            raise ValueError(f"layer must be 0..{config.n_layer - 1}, not {layer!r}")
        self.layer, self.n_head = layer, config.n_head
        self.fig = LiveFigure(make_subplots(rows=1, cols=2, subplot_titles=(
            "Loss on the two copies", f"Induction score of each head of block {layer}")))
        self.fig.add_trace(go.Scatter(x=[], y=[], name="first copy (unpredictable)", line=dict(color=REST)),
                           row=1, col=1)
        self.fig.add_trace(go.Scatter(x=[], y=[], name="second copy (copying helps)",
                                      line=dict(color=CHOSEN, width=3)), row=1, col=1)
        for h in range(config.n_head):
            colour = OKABE_ITO[HEAD_COLOURS[h % len(HEAD_COLOURS)]]
            self.fig.add_trace(go.Scatter(x=[], y=[], name=f"block {layer}, head {h}", line=dict(color=colour)),
                               row=1, col=2)
        self.fig.update_layout(**base_layout("An induction head forming while the model trains", height=460,
                                             width=960, margin=dict(l=60, r=20, t=100, b=120),
                                             legend=dict(orientation="h", x=0, y=-0.3)))
        self.fig.update_xaxes(title_text="training step", range=[0, config.steps])
        self.fig.update_yaxes(title_text="loss (nats)", range=[0, 5.2], row=1, col=1)
        self.fig.update_yaxes(title_text="induction score", range=[0, 1], row=1, col=2)
        self.widget = W.VBox([self.message_area, self.fig])

    @property
    def steps_drawn(self) -> list:
        return list(self.fig.data[0].x)

    def record(self, entry: dict):
        """Add one measurement: {"step", "first_copy_loss", "second_copy_loss", "scores" (L, H)}."""
        with self.errors_as_messages(), self.fig.batch_update():
            step = entry["step"]
            for trace, key in zip(self.fig.data[:2], ("first_copy_loss", "second_copy_loss")):
                trace.x, trace.y = trace.x + (step,), trace.y + (float(entry[key]),)
            for h in range(self.n_head):
                trace = self.fig.data[2 + h]
                trace.x, trace.y = trace.x + (step,), trace.y + (float(entry["scores"][self.layer][h]),)

    __call__ = record

    def static(self):
        """The chart as it is now (for pages read without a kernel)."""
        return go.Figure(self.fig)
