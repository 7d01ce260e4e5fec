"""Neuron browser: for one feed-forward neuron, the snippets of text where it fires most.

    >>> browser = NeuronBrowser(model, tokenizer, windows, layer=4, neuron=569)
    >>> browser.neuron = 17
    >>> browser.snippets       # [(activation, text before, the token, text after), ...]

The activations are measured once per layer on a fixed sample of text (`windows`, e.g.
`interpret.val_windows`); picking another neuron of the same layer only redraws.
"""
import html

import ipywidgets as W

from ..interpret import neuron_activations, snippet, top_activations
from .base import Explorer, control_value, layer_of
from .style import CHOSEN, FONT_FAMILY, MONO_FAMILY, TEXT, visible_token


class NeuronBrowser(Explorer):
    """Pick a layer and a neuron; see its strongest activations in context, the token highlighted.

    Python API: properties `layer`, `neuron`; read back `snippets`, `html`, `message`, `static()`.
    """

    def __init__(self, model, tokenizer, windows, layer=0, neuron=0, k=10):
        super().__init__()
        self.model, self.tokenizer, self.windows, self.k = model, tokenizer, windows, k
        cfg = model.config
        self.n_layer, self.n_neurons = cfg.n_layer, 4 * cfg.n_embd
        self._acts = {}  # layer -> (B, T, 4C) activations on the sample
        self.snippets = []
        wide = {"description_width": "initial"}
        self.layer_dropdown = W.Dropdown(options=[(f"layer {i}", i) for i in range(self.n_layer)], value=layer,
                                         description="layer", style=wide, layout=W.Layout(width="160px"))
        self.neuron_box = W.IntText(value=neuron, description=f"neuron (0..{self.n_neurons - 1})", style=wide,
                                    layout=W.Layout(width="230px"))
        self.random_button = W.Button(description="another neuron", layout=W.Layout(width="150px"))
        self.summary_area = W.HTML()
        self.snippet_area = W.HTML(layout=W.Layout(width="100%"))
        self.layer_dropdown.observe(lambda change: self.update(), "value")
        self.neuron_box.observe(lambda change: self.update(), "value")
        self.random_button.on_click(lambda button: self._next())
        n_tokens = self.windows.numel()
        self.widget = W.VBox([
            W.HTML(f"<b>Where does a neuron fire?</b> Its {k} strongest activations over {n_tokens:,} tokens of "
                   "text the model never trained on. The highlighted token is where it fires; the neuron saw "
                   "only the text before it (the grey text after is for you)."),
            W.HBox([self.layer_dropdown, self.neuron_box, self.random_button]),
            self.message_area, self.summary_area, self.snippet_area,
        ], layout=W.Layout(width="100%", max_width="980px"))
        self.update()

    layer = control_value("layer_dropdown", layer_of)

    @property
    def neuron(self) -> int:
        return self.neuron_box.value

    @neuron.setter
    def neuron(self, value):
        self.neuron_box.value = value  # checked in update: a wrong number becomes a message

    def _next(self):
        self.neuron_box.value = (self.neuron + 97) % self.n_neurons  # a stride that visits every neuron

    def activations(self, layer):
        if layer not in self._acts:
            self._acts[layer] = neuron_activations(self.model, self.windows, layer)
        return self._acts[layer]

    def update(self) -> bool:
        with self.errors_as_messages():
            acts = self.activations(self.layer)
            top = top_activations(self.model, self.windows, self.layer, self.neuron, k=self.k, acts=acts)
            self.clear_message()
            self.snippets = [(v, *snippet(self.tokenizer, self.windows, b, t)) for v, b, t in top]
            values = acts[..., self.neuron]
            self.summary_area.value = (
                f'<div style="font-family:{FONT_FAMILY};font-size:13px;color:{TEXT}">Layer {self.layer}, neuron '
                f"{self.neuron}: average activation {values.mean():.2f}, strongest {values.max():.2f}; it is above "
                f"half its strongest on {(values > values.max() / 2).float().mean():.1%} of the tokens.</div>")
            self.snippet_area.value = self.html
            return True
        self.snippets = []
        self.snippet_area.value = ""
        return False

    @property
    def html(self) -> str:
        """The snippets as HTML: activation, the text before, the token highlighted, the text after."""
        esc = lambda s: html.escape(visible_token(s))
        rows = []
        for value, before, token, after in self.snippets:
            rows.append(
                f'<div style="font-family:{MONO_FAMILY};font-size:13px;white-space:pre;color:{TEXT}">{value:6.2f}  '
                f'<span style="color:#444">{esc(before)}</span><b style="background:{CHOSEN};color:white;'
                f'padding:0 2px">{esc(token)}</b><span style="color:#999">{esc(after)}</span></div>')
        return "".join(rows)

    def static(self):
        """The current view as plain HTML (for pages exported without a kernel)."""
        from IPython.display import HTML

        return HTML(self.summary_area.value + self.html)
