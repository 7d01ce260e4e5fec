"""Training dashboard: the loss falling, the speed, and what the model writes, live.

    >>> dashboard = TrainingDashboard(vocab_size=tokenizer.vocab_size)
    >>> dashboard                                             # show it, then train:
    >>> Trainer(config, train_ids, val_ids, tokenizer=tok, callbacks=[dashboard.callback]).fit()

The trainer calls `dashboard.callback(event)` with a dict after logged steps, evaluations,
samples and at the end. Every event is recorded at once (a few list appends), but the
chart is redrawn at most every `min_interval` seconds, so watching costs the training
almost nothing; the last redraw happens at the "end" event (or call `refresh()`).
"""
import html
import math
import time

import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..scale import human
from .base import Explorer
from .figure import LiveFigure
from .style import BAR, FONT_FAMILY, MONO_FAMILY, REST, TEXT, TRAIN, VALIDATION, base_layout


def _thin(xs, ys, max_points):
    """At most about max_points of the points, evenly spaced, always with the last one."""
    n = len(xs)
    if n <= max_points:
        return xs, ys
    stride = math.ceil(n / max_points)
    keep = list(range(0, n, stride))
    if keep[-1] != n - 1:
        keep.append(n - 1)
    return [xs[i] for i in keep], [ys[i] for i in keep]


def _finite(x) -> bool:
    """A number that JSON (and so the browser) can carry: not None, NaN or infinite."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class TrainingDashboard(Explorer):
    """Live train and validation loss, tokens per second, and the latest sample.

    Python API: `callback(event)` (also `dashboard(event)`), `refresh()`; read back
    `history` (dict of lists), `latest_sample`, `redraws`, `stats`, `fig`.
    """

    def __init__(self, title="Training", min_interval=0.5, max_points=1500, vocab_size=None):
        super().__init__()
        self.title = title
        self.min_interval = min_interval
        self.max_points = max_points
        self.vocab_size = vocab_size
        self.history = {"step": [], "tokens": [], "train_loss": [], "tokens_per_s": [],
                        "val_step": [], "val_tokens": [], "val_loss": []}
        self.latest_sample = None
        self.latest_sample_step = None
        self.last_event = None
        self._latest = {}  # the newest non-empty step, tokens and elapsed seen in any event
        self.finished = None  # the "end" event, once training is over
        self.redraws = 0
        self.events = 0
        self._last_draw = -math.inf
        self._dirty = False

        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.07)
        fig.add_trace(go.Scatter(mode="lines", name="training loss", line=dict(color=TRAIN, width=2),
                                 hovertemplate="step %{x}<br>training loss %{y:.4f}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(mode="lines+markers", name="validation loss",
                                 line=dict(color=VALIDATION, width=2, dash="dash"), marker=dict(size=7, symbol="square"),
                                 hovertemplate="step %{x}<br>validation loss %{y:.4f}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(mode="lines", name="tokens per second", line=dict(color=BAR, width=1.5),
                                 showlegend=False, hovertemplate="step %{x}<br>%{y:,.0f} tokens/s<extra></extra>"),
                      row=2, col=1)
        fig.update_layout(**base_layout(f"{title}: waiting for the first step…", height=540,
                                        legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
                                        margin=dict(l=70, r=20, t=95, b=50)))
        fig.update_yaxes(title_text="loss (cross-entropy)", row=1, col=1)
        fig.update_yaxes(title_text="tokens / s", rangemode="tozero", row=2, col=1)
        fig.update_xaxes(title_text="training step", row=2, col=1)
        if vocab_size:
            guess = math.log(vocab_size)
            fig.add_hline(y=guess, line=dict(color=REST, dash="dot"), row=1, col=1,
                          annotation_text=f"random guessing: ln {vocab_size} = {guess:.2f}",
                          annotation_position="top right", annotation_font=dict(color="#666", size=11))
        self.fig = LiveFigure(fig)
        self.stats_area = W.HTML()
        self.sample_area = W.HTML()
        self.widget = W.VBox([self.stats_area, self.message_area, self.fig, self.sample_area],
                             layout=W.Layout(width="100%", max_width="980px"))
        self._draw_stats()
        self._draw_sample()

    # -- the trainer's callback --------------------------------------------------------------------
    def callback(self, event: dict):
        """Record one training event; redraw if min_interval has passed (always at "end")."""
        try:
            self._record(event)
        except Exception as e:  # a dashboard must never stop a training run
            self.show_message(f"The dashboard could not read an event ({type(e).__name__}: {e}); training goes on.")
            return
        if self.message:  # a good event after a bad one: the note is no longer true
            self.clear_message()
        kind = event.get("kind")
        if kind == "sample":
            self._draw_sample()
        now = time.perf_counter()
        if kind == "end" or now - self._last_draw >= self.min_interval:
            self.refresh()

    __call__ = callback

    def _record(self, event):
        if not isinstance(event, dict):
            raise ValueError(f"an event is a dict, not {type(event).__name__}")
        self.events += 1
        self.last_event = event
        for key in ("step", "tokens", "elapsed"):
            if event.get(key) is not None:
                self._latest[key] = event[key]
        kind = event.get("kind")
        h = self.history
        if kind == "step" and _finite(event.get("train_loss")):
            h["step"].append(event.get("step"))
            h["tokens"].append(event.get("tokens"))
            h["train_loss"].append(float(event["train_loss"]))
            speed = event.get("tokens_per_s")
            h["tokens_per_s"].append(float(speed) if _finite(speed) else None)
        elif kind == "eval" and _finite(event.get("val_loss")):
            if h["val_step"] and h["val_step"][-1] == event.get("step"):  # the same evaluation again
                h["val_loss"][-1] = float(event["val_loss"])
            else:
                h["val_step"].append(event.get("step"))
                h["val_tokens"].append(event.get("tokens"))
                h["val_loss"].append(float(event["val_loss"]))
        elif kind == "sample":
            self.latest_sample = event.get("sample")
            self.latest_sample_step = event.get("step")
        elif kind == "end":
            self.finished = event
        self._dirty = True

    # -- drawing -----------------------------------------------------------------------------------
    def refresh(self):
        """Redraw now with everything recorded so far."""
        self._last_draw = time.perf_counter()
        self._dirty = False
        self.redraws += 1
        h = self.history
        steps, losses = _thin(h["step"], h["train_loss"], self.max_points)
        measured = [(s, v) for s, v in zip(h["step"], h["tokens_per_s"]) if v is not None]
        speed_steps, speeds = _thin([s for s, _ in measured], [v for _, v in measured], self.max_points)
        with self.fig.batch_update():
            train, val, speed = self.fig.data
            train.x, train.y = steps, losses
            val.x, val.y = list(h["val_step"]), list(h["val_loss"])
            speed.x, speed.y = list(speed_steps), list(speeds)
            self.fig.layout.title.text = self._title()
        self._draw_stats()

    def _title(self):
        h = self.history
        if self.finished is not None:
            status = self.finished.get("status", "done")
            return f"{self.title}: finished ({status}) after {self.finished.get('steps', self.finished.get('step'))} steps"
        if not h["step"]:
            return f"{self.title}: waiting for the first step…"
        return f"{self.title}: step {h['step'][-1]}, the loss falls as the model learns"

    @property
    def stats(self) -> dict:
        """The latest numbers: step, tokens, elapsed, train_loss, val_loss, tokens_per_s."""
        h = self.history
        return {
            "step": self._latest.get("step"),
            "tokens": self._latest.get("tokens"),
            "elapsed": self._latest.get("elapsed"),
            "train_loss": h["train_loss"][-1] if h["train_loss"] else None,
            "val_loss": h["val_loss"][-1] if h["val_loss"] else None,
            "tokens_per_s": next((v for v in reversed(h["tokens_per_s"]) if v is not None), None),
        }

    def _draw_stats(self):
        s = self.stats

        def cell(label, value):
            return (f'<div style="display:inline-block;margin-right:18px"><div style="font-size:11px;color:#666">'
                    f'{label}</div><div style="font-size:16px;font-weight:600">{value}</div></div>')

        fmt = {
            "step": "—" if s["step"] is None else f"{s['step']:,}",
            "tokens": "—" if s["tokens"] is None else human(s["tokens"]),
            "elapsed": "—" if s["elapsed"] is None else f"{s['elapsed']:.1f} s",
            "train": "—" if s["train_loss"] is None else f"{s['train_loss']:.3f}",
            "val": "—" if s["val_loss"] is None else f"{s['val_loss']:.3f}",
            "speed": "—" if s["tokens_per_s"] is None else f"{s['tokens_per_s']:,.0f}",
        }
        self.stats_area.value = (
            f'<div style="font-family:{FONT_FAMILY};color:{TEXT};line-height:1.35">'
            + cell("step", fmt["step"]) + cell("tokens seen", fmt["tokens"]) + cell("time", fmt["elapsed"])
            + cell(f'<span style="color:{TRAIN}">■</span> training loss', fmt["train"])
            + cell(f'<span style="color:{VALIDATION}">■</span> validation loss', fmt["val"])
            + cell("tokens per second", fmt["speed"]) + "</div>"
        )

    def _draw_sample(self):
        if self.latest_sample is None:
            body = '<span style="color:#888">(no sample yet: the trainer writes one every sample_interval steps)</span>'
            head = "Latest sample"
        else:
            body = html.escape(str(self.latest_sample))
            head = f"What the model writes at step {self.latest_sample_step}"
        self.sample_area.value = (
            f'<div style="font-family:{FONT_FAMILY};font-size:13px;font-weight:600;margin-top:4px;line-height:1.4">{head}</div>'
            f'<div style="font-family:{MONO_FAMILY};font-size:12px;white-space:pre-wrap;line-height:1.45;color:{TEXT};'
            f'border:1px solid #ddd;background:#fafafa;padding:6px;max-height:14em;overflow:auto">{body}</div>'
        )

    def static(self):
        """A plain plotly Figure of the curves (for pages exported without a kernel)."""
        if self._dirty:
            self.refresh()
        return go.Figure(self.fig)
