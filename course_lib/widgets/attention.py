"""Attention explorer: where each token looks, layer by layer, head by head.

    >>> explorer = AttentionExplorer(model, tokenizer, text="To be, or not to be")
    >>> explorer.layer, explorer.head = 2, 5     # or head="all" for a grid of every head
    >>> explorer.query = 4                       # where does token 4 look?
    >>> explorer.pattern                         # (T, T) weights: query rows, key columns

Rows are the tokens that ask (queries), columns the tokens they may read (keys). A token
may only look at itself and earlier tokens: the grey triangle is the causal mask. Each
row's weights add up to 1. The model runs once per text (`GPT.trace`); changing the
layer, head or selected token only redraws.
"""
import math

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from .base import Explorer, control_value, error_text, layer_of
from .figure import LiveFigure
from .style import (
    BAR, CHOSEN, HEATMAP_SCALE, MASKED, MONO_FAMILY, base_layout, plotly_text, quoted_token, visible_token,
)

ALL = "all"


NO_QUERY = -1  # the query menu's "(none)": ipywidgets shows a value of None as a blank menu


class LayerByLayer:
    """Attention patterns of one text, computed only as deep as asked.

    Layer l's patterns depend only on the layers before it, so looking at layer 0 needs
    one block of work, not the whole model: `GPT.trace(idx, upto_layer=l)`.
    """

    def __init__(self, model, idx):
        model.check_idx(idx)
        self.model = model
        self.idx = idx
        self.patterns = []  # per layer computed so far: (H, T, T) numpy

    def upto(self, layer: int) -> list:
        if layer >= len(self.patterns):
            was_training = self.model.training
            self.model.eval()
            try:
                trace = self.model.trace(self.idx, upto_layer=layer)
            finally:
                self.model.train(was_training)
            self.patterns = [p[0].float().cpu().numpy() for p in trace.attn_pattern]
        return self.patterns


def attention_patterns(model, idx) -> torch.Tensor:
    """(L, H, T, T) attention weights of every layer and head for idx (1, T)."""
    return torch.from_numpy(np.stack(LayerByLayer(model, idx).upto(model.config.n_layer - 1)))


class AttentionExplorer(Explorer):
    """Text in; a heatmap of one head's attention (or a grid of all heads of a layer).

    Python API: properties `text`, `layer`, `head` (a number, or "all" for the grid),
    `query` (a token position or None); read back `pattern` (T, T), `tokens`,
    `heatmap_z()` (as drawn, masked cells NaN), `row_weights()`, `message`, `fig`,
    `grid_fig`, `row_fig`.
    """

    def __init__(self, model, tokenizer, text="To be, or not to be, that is the question.", layer=0, head=0,
                 query=None):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        cfg = model.config
        self.n_layer, self.n_head, self.block_size = cfg.n_layer, cfg.n_head, cfg.block_size
        self.forward_passes = 0
        self.tokens = []  # token texts of the current text
        self._layers = None  # the current text's patterns, computed layer by layer
        self._cache_text = None
        self._quiet = False
        self._axes_drawn = {"single": None, "grid": None}  # which text's tokens the axes show

        wide = {"description_width": "initial"}
        self.text_box = W.Textarea(value=text, rows=2, placeholder="Type a text to look inside",
                                   layout=W.Layout(width="100%"))
        self.layer_dropdown = W.Dropdown(options=[(f"layer {i}", i) for i in range(self.n_layer)], value=layer,
                                         description="layer", style=wide, layout=W.Layout(width="160px"))
        self.head_dropdown = W.Dropdown(
            options=[("all heads (grid)", ALL)] + [(f"head {h}", h) for h in range(self.n_head)],
            value=head, description="head", style=wide, layout=W.Layout(width="210px"))
        self.query_dropdown = W.Dropdown(options=[("(none)", NO_QUERY)], value=NO_QUERY,
                                         description="where does this token look?", style=wide,
                                         layout=W.Layout(width="400px"))

        # The figures are made when first needed: each plotly figure widget costs the page
        # several megabytes of JavaScript, so a single-head view makes no grid and vice versa.
        self.fig = self.row_fig = self.grid_fig = None
        self.single_box = W.VBox([])
        self.grid_box = W.VBox([])

        self.text_box.observe(self._on_text, "value")
        self.layer_dropdown.observe(self._on_view, "value")
        self.head_dropdown.observe(self._on_view, "value")
        self.query_dropdown.observe(self._on_view, "value")

        self.widget = W.VBox([
            W.HTML("<b>Text</b> (the model reads it and we watch its attention)"),
            self.text_box,
            W.HBox([self.layer_dropdown, self.head_dropdown, self.query_dropdown], layout=W.Layout(flex_flow="row wrap")),
            self.message_area,
            self.single_box,
            self.grid_box,
        ], layout=W.Layout(width="100%", max_width="980px"))
        self.update(query=query)

    def _make_single(self):
        hover = "query (row) %{y}, key (column) %{x}<br>weight %{z:.3f}<extra></extra>"
        self.fig = LiveFigure(
            data=[go.Heatmap(coloraxis="coloraxis", hovertemplate=hover, xgap=0.5, ygap=0.5)],
            layout=base_layout("", "key: the token looked at", "query: the token looking",
                               height=560, width=640, plot_bgcolor=MASKED,
                               coloraxis=dict(colorscale=HEATMAP_SCALE, cmin=0, cmax=1,
                                              colorbar=dict(title=dict(text="weight", side="right"), thickness=14)),
                               margin=dict(l=110, r=20, t=70, b=100)),
        )
        axes = dict(tickfont=dict(family=MONO_FAMILY, size=11), showgrid=False, zeroline=False, automargin=True)
        self.fig.update_yaxes(autorange="reversed", **axes)
        self.fig.update_xaxes(tickangle=-60, **axes)
        self.fig.data[0].on_click(self._on_click_single)
        self.row_fig = LiveFigure(
            data=[go.Bar(marker=dict(color=BAR), hovertemplate="key (column) %{x}<br>weight %{y:.3f}<extra></extra>")],
            layout=base_layout("Pick a token (click a row or use the menu) to see where it looks",
                               "key: the token looked at", "attention weight", height=300, width=640,
                               margin=dict(l=60, r=20, t=50, b=90)),
        )
        self.row_fig.update_xaxes(tickangle=-60, tickfont=dict(family=MONO_FAMILY, size=11))
        self.row_fig.update_yaxes(range=[0, 1.05])
        self._axes_drawn["single"] = None
        self.single_box.children = [self.fig, self.row_fig]

    def _make_grid(self):
        cols = min(self.n_head, 4)
        rows = math.ceil(self.n_head / cols)
        hover = "query (row) %{y}, key (column) %{x}<br>weight %{z:.3f}<extra></extra>"
        fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"head {h}" for h in range(self.n_head)],
                            horizontal_spacing=0.03, vertical_spacing=0.08 if rows > 1 else 0.1)
        for h in range(self.n_head):
            fig.add_trace(go.Heatmap(coloraxis="coloraxis", hovertemplate=f"head {h}<br>" + hover),
                          row=h // cols + 1, col=h % cols + 1)
        fig.update_layout(**base_layout("", height=60 + 230 * rows, width=900, plot_bgcolor=MASKED,
                                        coloraxis=dict(colorscale=HEATMAP_SCALE, cmin=0, cmax=1,
                                                       colorbar=dict(title=dict(text="weight", side="right"), thickness=14)),
                                        margin=dict(l=30, r=20, t=80, b=20)))
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
        self.grid_fig = LiveFigure(fig)
        for h, trace in enumerate(self.grid_fig.data):
            trace.on_click(lambda trace, points, state, h=h: self._on_click_grid(h, points))
        self._axes_drawn["grid"] = None
        self.grid_box.children = [self.grid_fig]

    # -- properties ------------------------------------------------------------------------------
    text = control_value("text_box")

    layer = control_value("layer_dropdown", layer_of)

    @property
    def head(self):
        return self.head_dropdown.value

    @head.setter
    def head(self, value):
        if value != ALL and value not in range(self.n_head):
            raise ValueError(f"head must be 0..{self.n_head - 1} or 'all', not {value!r}")
        self.head_dropdown.value = value

    @property
    def query(self):
        value = self.query_dropdown.value
        return None if value in (None, NO_QUERY) else value

    @query.setter
    def query(self, value):
        if value is not None and value not in range(len(self.tokens)):
            raise ValueError(f"query must be a token position 0..{len(self.tokens) - 1} or None, not {value!r}")
        self.query_dropdown.value = NO_QUERY if value is None else value

    @property
    def pattern(self) -> np.ndarray:
        """(T, T) attention weights of the chosen layer and head (head 0 in grid view)."""
        head = 0 if self.head == ALL else self.head
        return self._layers.upto(self.layer)[self.layer][head]

    # -- the model, once per text ------------------------------------------------------------------
    def _trace(self, text):
        if text == self._cache_text:
            return
        ids = self.tokenizer.encode(text)
        if not ids:
            raise ValueError("The text is empty: type a few words to see where the model looks.")
        if len(ids) > self.block_size:
            raise ValueError(
                f"The text has {len(ids)} tokens but the model reads at most {self.block_size} at once "
                f"(its context). Shorten the text.")
        device = next(self.model.parameters()).device
        self._layers = LayerByLayer(self.model, torch.tensor([ids], dtype=torch.long, device=device))
        self.forward_passes += 1
        self.tokens = [self.tokenizer.token_text(i) for i in ids]
        self._cache_text = text
        self._labels = [plotly_text(visible_token(t)) for t in self.tokens]  # tick labels at positions 0..T-1
        T = len(ids)
        # The figure gets only the cells a token may see (row q, columns 0..q) as a list of
        # points; the hidden future has no points, so the grey background shows there (and
        # no NaN is needed, which JSON could not carry).
        self._rows, self._cols = np.tril_indices(T)
        self._quiet = True
        try:
            old = self.query
            self.query_dropdown.options = [("(none)", NO_QUERY)] + [(f"{i}: {visible_token(t)}", i)
                                                                for i, t in enumerate(self.tokens)]
            self.query_dropdown.value = old if old is not None and old < T else NO_QUERY
        finally:
            self._quiet = False

    # -- reacting ------------------------------------------------------------------------------------
    def _on_text(self, change):
        self.update()

    def _on_view(self, change):
        if not self._quiet:
            self.update()

    def _on_click_single(self, trace, points, state):
        if points.ys:
            self.query = int(points.ys[0])

    def _on_click_grid(self, head, points):
        query = int(points.ys[0]) if points.ys else None
        self._quiet = True
        try:
            self.head_dropdown.value = head
            if query is not None:
                self.query_dropdown.value = query
        finally:
            self._quiet = False
        self.update()

    def update(self, query=None):
        """Trace the text if it changed, then redraw the chosen view."""
        try:
            self._trace(self.text)
            self._redraw(query)
        except Exception as e:  # any error is a message in the widget, never a traceback
            self.show_message(error_text(e), "error")
            return False
        self.clear_message()
        return True

    def _redraw(self, query):
        if query is not None:
            self._quiet = True
            try:
                self.query_dropdown.value = query
            finally:
                self._quiet = False
        if self.head == ALL:
            if self.grid_fig is None:
                self._make_grid()
            self.single_box.layout.display = "none"
            self.grid_box.layout.display = None
            self._draw_grid()
        else:
            if self.fig is None:
                self._make_single()
            self.grid_box.layout.display = "none"
            self.single_box.layout.display = None
            self._draw_single()

    def _visible(self, pattern):
        """The weights of the cells a token may see, flat, in the order of self._rows/_cols.

        Plain lists of short numbers: the figure's state is JSON, and a float32 weight rounded
        in float32 still prints with 17 digits (0.12339999973773956), three times the text.
        """
        return pattern[self._rows, self._cols].astype(np.float64).round(4).tolist()

    def _set_axes(self, fig, heats, labels=True):
        """Positions of the cells, and the tokens as tick labels."""
        T = len(self._labels)
        if self._sent.get((id(fig), "cells")) != T:  # the cell positions depend only on the length
            for heat in heats:
                heat.x, heat.y = self._cols.tolist(), self._rows.tolist()
            self._sent[(id(fig), "cells")] = T
        for i in range(1, len(heats) + 1):
            suffix = "" if i == 1 else str(i)
            xaxis, yaxis = fig.layout["xaxis" + suffix], fig.layout["yaxis" + suffix]
            self._set(xaxis, "range", [-0.5, T - 0.5])
            self._set(yaxis, "range", [T - 0.5, -0.5])
            if labels:
                for axis in (xaxis, yaxis):
                    self._set(axis, "tickmode", "array")
                    self._set(axis, "tickvals", list(range(T)))
                    self._set(axis, "ticktext", self._labels)

    def _row_shape(self, q, xref="x", yref="y"):
        return dict(type="rect", xref=xref, yref=yref, x0=-0.5, x1=q + 0.5, y0=q - 0.5, y1=q + 0.5,
                    line=dict(color=CHOSEN, width=3), fillcolor="rgba(0,0,0,0)")

    def _draw_single(self):
        T = len(self.tokens)
        q = self.query
        size = max(11, min(22, 520 // max(T, 1)))
        with self.fig.batch_update():
            heat = self.fig.data[0]
            heat.z = self._visible(self.pattern)
            if self._axes_drawn["single"] != self._cache_text:  # tokens change only with the text
                self._set_axes(self.fig, [heat])
                self._set(self.fig.layout, "height", 190 + size * T)
                self._set(self.fig.layout, "width", 240 + size * T)
                self._axes_drawn["single"] = self._cache_text
            self._set(self.fig.layout.title, "text", f"Layer {self.layer}, head {self.head}: where each token (row) "
                      "looks<br><sup>brighter = more attention; grey = the future, which a token cannot see</sup>")
            self._set(self.fig.layout, "shapes", [self._row_shape(q)] if q is not None else [])
        with self.row_fig.batch_update():
            bars = self.row_fig.data[0]
            if q is None:
                bars.x, bars.y = [], []
                self._set(self.row_fig.layout.xaxis, "showticklabels", False)
                self._set(self.row_fig.layout.title, "text",
                          "Pick a token (click a row or use the menu) to see where it looks")
                self._set(self.row_fig.layout, "meta", {"empty": "until a token is picked"})  # see figure.py
            else:
                self._set(self.row_fig.layout, "meta", None)
                bars.x = list(range(q + 1))
                self._set(self.row_fig.layout.xaxis, "showticklabels", True)
                bars.y = self.pattern[q, : q + 1].astype(np.float64).round(4).tolist()
                xaxis = self.row_fig.layout.xaxis
                self._set(xaxis, "tickmode", "array")
                self._set(xaxis, "tickvals", list(range(q + 1)))
                self._set(xaxis, "ticktext", self._labels[: q + 1])
                self._set(xaxis, "range", [-0.5, max(q, 7) + 0.5])
                self._set(self.row_fig.layout.title, "text", f"Where {plotly_text(quoted_token(self.tokens[q]))} "
                          f"(position {q}) looks: layer {self.layer}, head {self.head}")

    def _draw_grid(self):
        q = self.query
        with self.grid_fig.batch_update():
            new_text = self._axes_drawn["grid"] != self._cache_text
            for h, heat in enumerate(self.grid_fig.data):
                heat.z = self._visible(self._layers.upto(self.layer)[self.layer][h])
            if new_text:
                self._set_axes(self.grid_fig, self.grid_fig.data, labels=False)
            self._axes_drawn["grid"] = self._cache_text
            shapes = []
            if q is not None:
                for h in range(self.n_head):
                    n = "" if h == 0 else str(h + 1)
                    shapes.append(self._row_shape(q, f"x{n}", f"y{n}"))
            self._set(self.grid_fig.layout, "shapes", shapes)
            chosen = (f"; the box marks {plotly_text(quoted_token(self.tokens[q]))} (position {q})"
                      if q is not None else "")
            self._set(self.grid_fig.layout.title, "text", f"All {self.n_head} heads of layer {self.layer}: each row is "
                      f"a token looking back{chosen}<br><sup>Click a head to open it on its own</sup>")

    # -- reading back ------------------------------------------------------------------------------------
    def heatmap_z(self) -> np.ndarray:
        """The single-head heatmap as drawn, as a (T, T) grid: NaN in the masked (future) cells."""
        heat = self.fig.data[0]
        T = len(self.fig.layout.xaxis.tickvals)
        z = np.full((T, T), np.nan)
        z[np.asarray(heat.y), np.asarray(heat.x)] = heat.z
        return z

    def row_weights(self) -> list:
        """The bars of the selected token's row (where it looks), as drawn."""
        return [float(v) for v in (self.row_fig.data[0].y if self.row_fig.data[0].y is not None else [])]

    def static(self):
        """A plain plotly Figure of the current view (for pages exported without a kernel)."""
        return go.Figure(self.grid_fig if self.head == ALL else self.fig)
