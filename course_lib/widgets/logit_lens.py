"""Logit-lens explorer: what the model would predict if it stopped after each block.

    >>> lens = LogitLensExplorer(model, tokenizer, text="ROMEO.\\nBut soft, what light")
    >>> lens.text = "To be, or not to be"
    >>> lens.lens.top_tokens[-1]        # the last block's predictions: the model's real ones
    >>> lens.heatmap_z()                # (L, T) top-token probabilities, as drawn

Rows are blocks (the bottom row is block 0, the top the last block), columns the tokens of
the text; each cell shows the most likely next token after that block, coloured by its
probability. Reading a column upward shows a prediction taking shape.
"""
import ipywidgets as W
import plotly.graph_objects as go

from ..interpret import logit_lens
from .base import Explorer, control_value
from .figure import LiveFigure
from .style import HEATMAP_SCALE, MONO_FAMILY, base_layout, plotly_text, visible_token


class LogitLensExplorer(Explorer):
    """Text in; a blocks x positions heatmap of the top next-token guess after each block.

    Python API: property `text`; read back `lens` (an `interpret.Lens`), `heatmap_z()`,
    `cell_text()`, `message`, `fig`, `static()`.
    """

    def __init__(self, model, tokenizer, text="ROMEO.\nBut soft, what light through yonder window breaks?",
                 max_tokens=24):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.max_tokens = max_tokens
        self.lens = None
        self.text_box = W.Textarea(value=text, rows=2, placeholder="Type a text to read layer by layer",
                                   continuous_update=False, layout=W.Layout(width="100%"))
        hover = "after block %{y}, reading %{customdata}<br>top next token %{text}: %{z:.1%}<extra></extra>"
        self.fig = LiveFigure(
            data=[go.Heatmap(colorscale=HEATMAP_SCALE, zmin=0, zmax=1, texttemplate="%{text}",
                             textfont=dict(family=MONO_FAMILY, size=11), hovertemplate=hover, xgap=1, ygap=1,
                             colorbar=dict(title=dict(text="probability", side="right"), thickness=14))],
            layout=base_layout("", "the token read (position)", "after block", height=420, width=960,
                               margin=dict(l=80, r=20, t=70, b=110)),
        )
        self.fig.update_xaxes(tickangle=-60, tickfont=dict(family=MONO_FAMILY, size=11), showgrid=False)
        self.fig.update_yaxes(showgrid=False, dtick=1)
        self.text_box.observe(lambda change: self.update(), "value")
        self.widget = W.VBox([
            W.HTML("<b>Text</b> (its last tokens are read; each cell: the top next-token guess after that block)"),
            self.text_box, self.message_area, self.fig,
        ], layout=W.Layout(width="100%", max_width="980px"))
        self.update()

    text = control_value("text_box")

    def update(self) -> bool:
        ids = self.tokenizer.encode(self.text) if isinstance(self.text, str) else []
        try:
            if not ids:
                raise ValueError("The text is empty: type a few words to see the predictions layer by layer.")
            self.lens = logit_lens(self.model, self.tokenizer, ids=ids[-self.max_tokens:])  # the last ones fit on screen
        except ValueError as e:
            self.show_message(str(e), "error")
            return False
        shown = len(ids) > self.max_tokens
        self.show_message(f"Showing the last {self.max_tokens} of {len(ids)} tokens." if shown else "", "info")
        lens = self.lens
        L, T = lens.top_probs.shape
        read = [plotly_text(f"{visible_token(t)} ({i})") for i, t in enumerate(lens.tokens)]
        with self.fig.batch_update():
            heat = self.fig.data[0]
            heat.z = lens.top_probs.numpy().round(4).tolist()
            heat.text = [[plotly_text(visible_token(t)) for t in row] for row in lens.top_tokens]
            heat.customdata = [read] * L
            heat.x, heat.y = list(range(T)), list(range(L))
            self.fig.layout.xaxis.update(tickmode="array", tickvals=list(range(T)), ticktext=read,
                                         range=[-0.5, T - 0.5])
            self.fig.layout.yaxis.update(range=[-0.5, L - 0.5])
            self.fig.layout.title.text = ("The top next-token guess after each block (the top row is the model's "
                                          "real prediction)<br><sup>colour: its probability; read a column upward "
                                          "to watch a prediction form</sup>")
            self.fig.layout.width = max(560, 120 + 58 * T)
        return True

    def heatmap_z(self):
        """(L, T) probabilities of the top token, as drawn."""
        return [list(row) for row in self.fig.data[0].z]

    def cell_text(self):
        """(L, T) the top tokens as written in the cells."""
        return [list(row) for row in self.fig.data[0].text]

    def static(self):
        """A plain plotly Figure of the current view (for pages exported without a kernel)."""
        return go.Figure(self.fig)
