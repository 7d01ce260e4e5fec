"""Embedding explorer: every token's vector, squeezed onto a page, and its nearest neighbours.

    >>> explorer = EmbeddingExplorer(model, tokenizer)
    >>> explorer.token = "king"            # highlight it (' king' with its space, if that is a token)
    >>> explorer.neighbours                # [(id, text, cosine similarity), ...] best first
    >>> explorer.whole_words = True        # BPE: only tokens that are a whole word (' king')
    >>> explorer.dims = 3

The model's token table has one vector of n_embd numbers per token. Principal component
analysis (PCA, here an SVD of the centred vectors) finds the 2 or 3 directions in which
the vectors differ most; the picture shows the tokens along those. Neighbours are
measured in the full space (cosine similarity), not in the picture, which loses most of
the information. Works for any checkpoint, including an untrained or half-trained one.
"""
import html

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch

from .base import Explorer, error_text
from .figure import LiveFigure
from .style import (
    CHOSEN, FONT_FAMILY, MONO_FAMILY, MUTED, NEIGHBOUR, TEXT, base_layout, plotly_text, quoted_token, visible_token,
)

DEFAULT_TOKENS = (" king", " love", " the", "e")


def pca_fit(vectors: torch.Tensor, k: int):
    """(N, C) -> (mean (C,), directions (k, C), share of the variance each direction explains (k,)).

    The SVD of the centred vectors; signs fixed so the result does not depend on the solver
    (each direction's largest loading is positive).
    """
    x = vectors.double()
    mean = x.mean(0)
    _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    k = min(k, vh.size(0))
    directions = vh[:k]  # (k, C)
    signs = torch.sign(directions.gather(1, directions.abs().argmax(1, keepdim=True)))
    variance = s**2
    return mean, directions * signs, variance[:k] / variance.sum()


def pca(vectors: torch.Tensor, k: int):
    """(N, C) -> (coordinates (N, k) along the k main directions, their share of the variance (k,))."""
    mean, directions, share = pca_fit(vectors, k)
    return ((vectors.double() - mean) @ directions.T).float(), share.float()


def is_whole_word(text: str) -> bool:
    """A token that starts a word: a space, then letters (' king', ' the')."""
    return len(text) > 1 and text[0] == " " and text[1:].isalpha()


class EmbeddingExplorer(Explorer):
    """The token embeddings projected to 2D or 3D; a typed token highlighted with its neighbours.

    Python API: properties `token` (text, or an id), `dims` (2 or 3), `whole_words`,
    `n_neighbours`; read back `neighbours`, `coords`, `shown_ids`, `explained_variance`,
    `message`, `fig`.
    """

    def __init__(self, model, tokenizer, token=None, dims=2, whole_words=False, n_neighbours=10):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        V = tokenizer.vocab_size
        self.embeddings = model.tok_emb.weight.detach().float().cpu()[:V]  # (V, C)
        self.texts = [tokenizer.token_text(i) for i in range(V)]
        specials = set(getattr(tokenizer, "special_ids", {}).values())
        self.regular_ids = [i for i in range(V) if i not in specials]
        self.word_ids = [i for i in self.regular_ids if is_whole_word(self.texts[i])]
        self._by_text = {}
        for i in self.regular_ids:
            self._by_text.setdefault(self.texts[i], i)
        unit = self.embeddings / self.embeddings.norm(dim=1, keepdim=True).clamp_min(1e-12)
        self._unit = unit
        self.token_id = None
        self.neighbours = []
        self._projection_key = None
        self._drawn_projection = None  # the projection the figure's points show

        wide = {"description_width": "initial"}
        self.token_box = W.Text(value="", placeholder="a token, e.g. king", description="token",
                                continuous_update=False, style=wide, layout=W.Layout(width="260px"))
        self.dims_buttons = W.ToggleButtons(options=[("2D", 2), ("3D", 3)], value=dims,
                                            style={"button_width": "50px"})
        self.whole_words_box = W.Checkbox(value=whole_words, description="whole words only (tokens like '·king')",
                                          indent=False, layout=W.Layout(width="300px"))
        self.n_slider = W.IntSlider(value=n_neighbours, min=1, max=30, description="neighbours", style=wide,
                                    layout=W.Layout(width="260px"))
        self.table = W.HTML(layout=W.Layout(width="300px"))
        self.fig = LiveFigure(layout=base_layout("", height=560, width=640, showlegend=True,
                                                      legend=dict(orientation="h", y=-0.12),
                                                      margin=dict(l=60, r=20, t=75, b=60)))

        self.token_box.observe(lambda change: self._on_token(), "value")
        for control in (self.dims_buttons, self.whole_words_box, self.n_slider):
            control.observe(lambda change: self.update(), "value")

        self.widget = W.VBox([
            W.HBox([self.token_box, self.dims_buttons, self.whole_words_box, self.n_slider],
                   layout=W.Layout(flex_flow="row wrap", align_items="center")),
            self.message_area,
            W.HBox([W.Box([self.fig], layout=W.Layout(min_width="640px", flex="0 0 auto")), self.table],
                   layout=W.Layout(flex_flow="row wrap")),
        ], layout=W.Layout(width="100%", max_width="1000px"))
        if token is None:
            token = next((t for t in DEFAULT_TOKENS if t in self._by_text), self.texts[self.regular_ids[0]])
        self.token = token

    # -- properties ----------------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.token_box.value

    @token.setter
    def token(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self.texts):
                self.show_message(f"Token ids go from 0 to {len(self.texts) - 1}; {value} is not one.")
                return
            value = self.texts[value]
        if self.token_box.value == value:
            self._on_token()
        else:
            self.token_box.value = value

    @property
    def dims(self) -> int:
        return self.dims_buttons.value

    @dims.setter
    def dims(self, value):
        if value not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, not {value!r}")
        self.dims_buttons.value = value

    @property
    def whole_words(self) -> bool:
        return self.whole_words_box.value

    @whole_words.setter
    def whole_words(self, value):
        self.whole_words_box.value = bool(value)

    @property
    def n_neighbours(self) -> int:
        return self.n_slider.value

    @n_neighbours.setter
    def n_neighbours(self, value):
        self.n_slider.value = value

    # -- finding a token ----------------------------------------------------------------------------
    def find_token(self, text: str) -> int:
        """The id of a typed token: exact token text first, then with a leading space."""
        if not text:
            raise ValueError("Type a token to look up, e.g. 'king' or ' the'.")
        for candidate in (text, " " + text):
            if candidate in self._by_text:
                return self._by_text[candidate]
        ids = self.tokenizer.encode(text)
        if len(ids) == 1:
            return ids[0]
        parts = " + ".join(quoted_token(self.texts[i]) for i in ids[:8])
        raise ValueError(f"{text!r} is not a single token: the tokenizer splits it into {parts}. "
                         "Type one of those pieces, or another word.")

    def _on_token(self):
        try:
            self.token_id = self.find_token(self.token)
        except Exception as e:  # any error is a message in the widget, never a traceback
            self.show_message(error_text(e), "error")
            return
        self.update()

    # -- computing ----------------------------------------------------------------------------------
    @property
    def shown_ids(self) -> list:
        if self.whole_words and self.word_ids:
            return self.word_ids
        return self.regular_ids

    def _project(self):
        key = (self.whole_words and bool(self.word_ids), self.dims)
        if key != self._projection_key:
            mean, directions, share = pca_fit(self.embeddings[torch.tensor(self.shown_ids)], self.dims)
            self._mean, self._directions = mean, directions
            self.explained_variance = share.float().numpy()
            self.coords = self._coordinates(self.shown_ids)
            self._projection_key = key
        return self.coords

    def _coordinates(self, ids) -> np.ndarray:
        """(len(ids), dims) coordinates of any tokens (also ones outside the shown set)."""
        x = self.embeddings[torch.tensor(ids, dtype=torch.long)].double()
        return ((x - self._mean) @ self._directions.T).float().numpy().reshape(len(ids), -1)

    def nearest(self, token_id: int, n: int):
        """The n tokens of the shown set most similar to token_id (cosine), best first."""
        ids = torch.tensor([i for i in self.shown_ids if i != token_id])
        cos = self._unit[ids] @ self._unit[token_id]
        best = torch.topk(cos, min(n, len(ids)))
        return [(int(ids[j]), self.texts[int(ids[j])], float(c)) for c, j in zip(best.values, best.indices)]

    def update(self):
        if self.whole_words and not self.word_ids:
            self.show_message("This tokenizer has no whole-word tokens (a space followed by letters), "
                              "so all tokens are shown.", "info")
        else:
            self.clear_message()
        coords = self._project()
        if self.token_id is None:
            return
        self.neighbours = self.nearest(self.token_id, self.n_neighbours)
        self._draw(coords)
        self._draw_table()

    def _draw(self, coords):
        three = self.dims == 3
        neighbour_ids = [i for i, _, _ in self.neighbours]
        near = self._coordinates(neighbour_ids)
        me = self._coordinates([self.token_id])
        Marked = go.Scatter3d if three else go.Scatter

        def xyz(points):  # plain lists: JupyterLab loses a figure's full state when it holds binary arrays
            d = dict(x=points[:, 0].round(5).tolist(), y=points[:, 1].round(5).tolist())
            if three:
                d["z"] = points[:, 2].round(5).tolist()
            return d

        text_style = dict(textposition="top center", textfont=dict(family=MONO_FAMILY, size=12, color=TEXT))
        marked = [
            Marked(**xyz(near), mode="markers+text", name=f"{len(near)} nearest (cosine)",
                   marker=dict(color=NEIGHBOUR, size=5 if three else 9),
                   text=[plotly_text(visible_token(t)) for _, t, _ in self.neighbours],
                   hovertext=[f"{plotly_text(quoted_token(t))} cosine {c:.3f}" for _, t, c in self.neighbours],
                   hoverinfo="text",
                   **text_style),
            Marked(**xyz(me), mode="markers+text", name=plotly_text(quoted_token(self.texts[self.token_id])),
                   marker=dict(color=CHOSEN, size=7 if three else 13, symbol="diamond"),
                   text=[plotly_text(visible_token(self.texts[self.token_id]))], hoverinfo="text",
                   hovertext=[f"id {self.token_id}: {plotly_text(quoted_token(self.texts[self.token_id]))}"],
                   **text_style),
        ]
        kind = "whole-word tokens" if self.whole_words and self.word_ids else "tokens"
        C = self.embeddings.size(1)
        title = (f"{kind.capitalize()} as points, along their {self.dims} main directions"
                 f"<br><sup>each token is {C} numbers; {plotly_text(quoted_token(self.texts[self.token_id]))} and its "
                 f"{len(self.neighbours)} nearest neighbours (cosine, in all {C})</sup>")
        with self.fig.batch_update():
            if self._drawn_projection != self._projection_key or len(self.fig.data) != 3:
                # A new projection: all points again (the expensive part, not redone for a new token).
                background = (go.Scatter3d if three else go.Scattergl)(
                    **xyz(coords), mode="markers", name=f"{len(coords):,} {kind}",
                    marker=dict(color=MUTED, size=3 if three else 5, opacity=0.6),
                    hovertext=[f"id {i}: {plotly_text(quoted_token(self.texts[i]))}" for i in self.shown_ids],
                    hoverinfo="text")
                self.fig.data = []
                self.fig.add_traces([background] + marked)
                share = self.explained_variance
                labels = [f"direction {k + 1} ({share[k]:.1%} of the spread)" for k in range(self.dims)]
                if three:
                    self.fig.layout.scene = dict(xaxis_title=labels[0], yaxis_title=labels[1], zaxis_title=labels[2])
                else:
                    self.fig.layout.xaxis.title.text = labels[0]
                    self.fig.layout.yaxis.title.text = labels[1]
                self._drawn_projection = self._projection_key
            else:
                for old, new in zip(self.fig.data[1:], marked):
                    old.update(new.to_plotly_json())
            self.fig.layout.title.text = title

    def _draw_table(self):
        rows = "".join(
            f'<tr><td style="color:#666;padding:1px 6px">{r + 1}</td>'
            f'<td style="font-family:{MONO_FAMILY};padding:1px 6px">{html.escape(quoted_token(t))}</td>'
            f'<td style="text-align:right;padding:1px 6px">{c:.3f}</td></tr>'
            for r, (_, t, c) in enumerate(self.neighbours)
        )
        me = html.escape(quoted_token(self.texts[self.token_id]))
        self.table.value = (
            f'<div style="font-family:{FONT_FAMILY};font-size:13px;color:{TEXT};line-height:1.4">'
            f'<b>Nearest to <span style="color:{CHOSEN};font-family:{MONO_FAMILY}">{me}</span></b> '
            f"(id {self.token_id})<br><span style='color:#666;font-size:12px'>cosine similarity of the full "
            f"{self.embeddings.size(1)}-number vectors: 1 = same direction</span>"
            f'<table style="border-collapse:collapse;margin-top:4px"><tr><th>#</th><th>token</th><th>cosine</th></tr>'
            f"{rows}</table></div>"
        )

    def static(self):
        """A plain plotly Figure of the current picture (for pages exported without a kernel)."""
        return go.Figure(self.fig)
