"""Next-word explorer: the model's probabilities for the next token, and the dice.

    >>> explorer = NextWordExplorer(model, tokenizer, prompt="ROMEO:\\n")
    >>> explorer                      # in JupyterLab: the widget
    >>> explorer.temperature = 0.5    # or move the slider
    >>> explorer.bars()               # [(token text, probability), ...] as drawn
    >>> explorer.sample()             # roll the dice: the drawn token joins the prompt

The model runs once per prompt: its scores (logits) are kept, so moving the temperature,
top-k or top-p sliders only redoes the cheap softmax and redraws the bars.
"""
import html

import ipywidgets as W
import plotly.graph_objects as go
import torch

from ..sampling import (
    check_max_new_tokens, check_sampling_args, check_seed, context_ids, generate, make_generator, next_token_logits,
    offset_seed, probs_from_logits, prompt_ids, sample_from,
)
from .base import Explorer, error_text
from .figure import LiveFigure
from .style import (
    BAR, CHOSEN, FONT_FAMILY, MONO_FAMILY, REST, TEXT, base_layout, plotly_text, quoted_token, shorten, visible_token,
)


def _percent(p: float) -> str:
    return f"{p:.1%}" if p >= 0.01 or p == 0 else f"{p:.2%}" if p >= 0.0001 else f"{p:.1e}"


TEMPERATURE_MAX, TOP_P_MIN = 2.5, 0.05  # the sliders' ranges


def _check_settings(temperature=0.0, top_k=None, top_p=None, seed=0, max_top_k=100, prompt=""):
    """ValueError for a setting the explorer's controls cannot show (never clamped)."""
    if not isinstance(prompt, str):
        raise ValueError(f"the prompt must be text (str), not {type(prompt).__name__}")
    check_sampling_args(temperature, top_k or None, top_p)
    if temperature > TEMPERATURE_MAX:
        raise ValueError(f"temperature must be from 0 to {TEMPERATURE_MAX} (the slider's range), not {temperature!r}")
    if top_k is not None and top_k != 0 and top_k > max_top_k:
        raise ValueError(f"top_k must be None or 0 (off), or a whole number from 1 to {max_top_k} (the slider's "
                         f"range), not {top_k!r}")
    if top_p is not None and top_p < TOP_P_MIN:
        raise ValueError(f"top_p must be None (off) or from {TOP_P_MIN} to 1 (the slider's range), not {top_p!r}")
    if seed is None:
        raise ValueError("seed must be a whole number from 0 to 2**64 - 1 (the explorer's dice are always seeded)")
    check_seed(seed)


class NextWordExplorer(Explorer):
    """A prompt box, sampling sliders, the bar chart of likely next tokens, and the dice.

    Python API (what the sliders and buttons do): the properties `prompt`, `temperature`,
    `top_k` (None = off), `top_p` (None = off) and `seed`; `sample()`, `undo()`, `reset()`,
    `answers(n)`; read back `bars()`, `rest_probability`, `probs`, `message`, `fig`.
    A setting outside what its control can show (temperature 0 to 2.5, top-k 0/None to
    min(V, 100), top-p 0.05 to 1 or None, seed 0 to 2**64 - 1) is refused with a ValueError
    (and the message in the widget), never clamped.
    """

    def __init__(self, model, tokenizer, prompt="ROMEO:\n", temperature=1.0, top_k=None, top_p=None,
                 seed=0, n_bars=15, n_answers=4, answer_tokens=40):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.n_bars = n_bars
        self.answer_tokens = answer_tokens
        self.initial_prompt = prompt
        self.forward_passes = 0  # how often the model ran (tests check the cache)
        self.probs = None  # (V,) the distribution shown, after temperature/top-k/top-p
        self.drawn = None  # (token id, probability, prompt it followed) of the last draw
        self.last_answers = []
        self._cache_prompt, self._cache_logits, self._cache_cropped = None, None, 0
        self._history = []  # (prompt, generator state) before each draw, for undo
        self._bar_ids = []
        self._drawn_ids = self._drawn_colours = self._drawn_title = None  # what the figure shows already
        self._quiet = False  # True while the code itself changes a control
        V = tokenizer.vocab_size
        _check_settings(temperature, top_k, top_p, seed, min(V, 100), prompt)

        wide = {"description_width": "initial"}
        self.prompt_box = W.Textarea(value=prompt, placeholder="Type a prompt for the model to continue",
                                     rows=3, layout=W.Layout(width="100%"))
        self.temperature_slider = W.FloatSlider(value=temperature, min=0.0, max=TEMPERATURE_MAX, step=0.05,
                                                description="temperature (0 = greedy)", readout_format=".2f",
                                                style=wide, layout=W.Layout(width="340px"))
        self.top_k_slider = W.IntSlider(value=top_k or 0, min=0, max=min(V, 100), description="top-k (0 = off)",
                                        style=wide, layout=W.Layout(width="300px"))
        self.top_p_slider = W.FloatSlider(value=1.0 if top_p is None else top_p, min=TOP_P_MIN, max=1.0, step=0.05,
                                          description="top-p (1 = off)", readout_format=".2f",
                                          style=wide, layout=W.Layout(width="300px"))
        self.seed_box = W.IntText(value=seed, description="seed", style=wide, layout=W.Layout(width="150px"))
        self.sample_button = W.Button(description="sample", icon="random", button_style="primary",
                                      tooltip="draw a token with these probabilities and append it")
        self.undo_button = W.Button(description="undo", icon="undo", tooltip="take back the last draw")
        self.reset_button = W.Button(description="reset", icon="refresh", tooltip="back to the first prompt and seed")
        self.n_answers_slider = W.IntSlider(value=n_answers, min=1, max=8, description="answers",
                                            style=wide, layout=W.Layout(width="260px"))
        self.answers_button = W.Button(description="same prompt, N answers", icon="columns",
                                       layout=W.Layout(width="220px"),
                                       tooltip="continue the prompt several times with different seeds")
        self.prompt_view = W.HTML()
        self.answers_area = W.HTML()
        self.fig = LiveFigure(
            data=[
                go.Bar(orientation="h", marker=dict(color=BAR), textposition="outside", cliponaxis=False,
                       name="next token", hovertemplate="%{customdata}<br>probability %{x:.4f}<extra></extra>"),
                go.Bar(orientation="h", marker=dict(color=REST), textposition="outside", cliponaxis=False,
                       name="rest of the vocabulary", hovertemplate="%{customdata}<br>probability %{x:.4f}<extra></extra>"),
            ],
            layout=base_layout("", "probability of coming next", None, height=480, showlegend=False, bargap=0.25,
                               margin=dict(l=150, r=40, t=60, b=50)),
        )
        self.fig.update_yaxes(autorange="reversed", tickfont=dict(family=MONO_FAMILY, size=13), automargin=True)

        self.prompt_box.observe(self._on_prompt, "value")
        for slider in (self.temperature_slider, self.top_k_slider, self.top_p_slider):
            slider.observe(self._on_setting, "value")
        self.seed_box.observe(self._on_seed, "value")
        self.sample_button.on_click(lambda _: self._click(self.sample))
        self.undo_button.on_click(lambda _: self._click(self.undo))
        self.reset_button.on_click(lambda _: self._click(self.reset))
        self.answers_button.on_click(lambda _: self._click(self.answers))

        self.widget = W.VBox([
            W.HTML("<b>Prompt</b> (the model continues this text)"),
            self.prompt_box,
            W.HBox([self.temperature_slider, self.top_k_slider, self.top_p_slider], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.sample_button, self.undo_button, self.reset_button, self.seed_box]),
            self.message_area,
            self.prompt_view,
            self.fig,
            W.HBox([self.n_answers_slider, self.answers_button]),
            self.answers_area,
        ], layout=W.Layout(width="100%", max_width="980px"))
        self._generator = make_generator(seed)
        self.update()

    # -- settings as properties ----------------------------------------------------------------
    @property
    def prompt(self) -> str:
        return self.prompt_box.value

    @prompt.setter
    def prompt(self, text):
        self._checked(prompt=text)
        self.prompt_box.value = text

    def _checked(self, **setting):
        """A setting the controls cannot show: say so in the widget, and raise ValueError."""
        try:
            _check_settings(max_top_k=self.top_k_slider.max, **setting)
        except ValueError as e:
            self.show_message(str(e), "error")
            raise

    @property
    def temperature(self) -> float:
        return float(self.temperature_slider.value)

    @temperature.setter
    def temperature(self, value):
        self._checked(temperature=value)
        self.temperature_slider.value = value

    @property
    def top_k(self):
        """None when off (slider at 0)."""
        return int(self.top_k_slider.value) or None

    @top_k.setter
    def top_k(self, value):
        self._checked(top_k=value)
        self.top_k_slider.value = value or 0

    @property
    def top_p(self):
        """None when off (slider at 1)."""
        value = round(float(self.top_p_slider.value), 4)
        return None if value >= 1.0 else value

    @top_p.setter
    def top_p(self, value):
        self._checked(top_p=value)
        self.top_p_slider.value = 1.0 if value is None else value

    @property
    def seed(self) -> int:
        return int(self.seed_box.value)

    @seed.setter
    def seed(self, value):
        self._checked(seed=value)
        self.seed_box.value = value

    # -- the model, once per prompt ----------------------------------------------------------------
    def _logits(self, prompt: str) -> torch.Tensor:
        """Scores for the token after `prompt` (V,), cached: the model runs once per prompt."""
        if prompt == self._cache_prompt:
            return self._cache_logits
        ids = prompt_ids(self.tokenizer, prompt)
        logits = next_token_logits(self.model, context_ids(self.model, ids))
        self.forward_passes += 1
        cropped = max(0, len(ids) - self.model.config.block_size)
        self._cache_prompt, self._cache_logits, self._cache_cropped = prompt, logits, cropped
        return logits

    def distribution(self, prompt=None) -> torch.Tensor:
        """(V,) probabilities of the next token with the current settings."""
        logits = self._logits(self.prompt if prompt is None else prompt)
        return probs_from_logits(logits, self.temperature, self.top_k, self.top_p)

    # -- reacting to the controls ----------------------------------------------------------------
    def _on_prompt(self, change):
        if self._quiet:
            return
        self.drawn = None
        self.update()

    def _on_setting(self, change):
        self.drawn = None
        self.update()

    def _on_seed(self, change):
        try:  # a seed typed into the box: a bad one is refused with a message, the dice stay
            self._generator = make_generator(self.seed)
        except ValueError as e:
            self.show_message(str(e), "error")
        else:
            if self.message.startswith("seed "):
                self.clear_message()

    def _click(self, action):
        """A button's action: any error becomes the widget's message, never a traceback."""
        with self.errors_as_messages():
            action()

    def update(self):
        """Recompute the distribution (model only if the prompt changed) and redraw."""
        try:
            probs = self.distribution()
        except Exception as e:  # noqa: BLE001 - shown in the widget, never a traceback
            self.show_message(error_text(e), "error")
            with self.fig.batch_update():
                self.fig.layout.title.text = "(no chart: fix the prompt above)"
            return False
        self.probs = probs
        if self._cache_cropped:
            block = self.model.config.block_size
            self.show_message(
                f"The prompt has {self._cache_cropped + block} tokens; the model reads only the last "
                f"{block} (its context), so the first {self._cache_cropped} make no difference.", "info")
        else:
            self.clear_message()
        if self.drawn is not None:
            token_id, p, before = self.drawn
            self._draw(probs, self._drawn_title_text(token_id, p, before), highlight=token_id)
        else:
            self._draw(probs, f"What comes after {plotly_text(quoted_token(shorten(self.prompt, 40)))}?",
                       highlight=None)
        self._show_prompt()
        return True

    def _draw(self, probs, title, highlight=None):
        k = min(self.n_bars, probs.numel())
        values, ids = torch.topk(probs, k)
        keep = values > 0
        ids = ids[keep].tolist()
        if highlight is not None and highlight not in ids:
            ids.append(highlight)
        self._bar_ids = ids
        p = probs[ids].tolist()
        shown = (ids, highlight)  # what the tick labels depend on
        texts = [self.tokenizer.token_text(i) for i in ids] if shown != self._drawn_ids else None
        rest = max(0.0, 1.0 - float(sum(p)))
        n_rest = probs.numel() - len(ids)
        labels = None
        if shown != self._drawn_ids:
            labels = [f'<span style="color:{CHOSEN}"><b>{html.escape(visible_token(t))}</b></span>' if i == highlight
                      else html.escape(visible_token(t)) for i, t in zip(ids, texts)]
            labels.append(f"other {n_rest:,} tokens")
        colours = [CHOSEN if i == highlight else BAR for i in ids]
        top = max(p + [rest]) if p else 1.0
        with self.fig.batch_update():
            bars, rest_bar = self.fig.data
            bars.x = p
            bars.text = [_percent(v) for v in p]
            rest_bar.x = [rest]
            rest_bar.text = [_percent(rest)]
            self.fig.layout.xaxis.range = [0, top * 1.18]
            # What only changes with the set of tokens shown (not with the temperature) is
            # sent only when it changes: plotly checks every property it is given.
            if shown != self._drawn_ids:
                bars.y = list(range(len(ids)))
                bars.customdata = [f"{plotly_text(quoted_token(t))} (id {i})" for t, i in zip(texts, ids)]
                rest_bar.y = [len(ids)]
                rest_bar.customdata = [f"the other {n_rest:,} tokens of the vocabulary together"]
                self.fig.layout.yaxis.tickvals = list(range(len(ids) + 1))
                self.fig.layout.yaxis.ticktext = labels
                self.fig.layout.height = max(260, 110 + 24 * (len(ids) + 1))
                self._drawn_ids = shown
            if colours != self._drawn_colours:
                bars.marker.color = colours
                # Sent with it: plotly's delta for the token bars carries an empty colour for
                # this trace, and plotly.js would then paint the rest bar its default red.
                rest_bar.marker.color = REST
                bars.textfont.color = [CHOSEN if c == CHOSEN else TEXT for c in colours]
                self._drawn_colours = colours
            if title != self._drawn_title:
                self.fig.layout.title.text = title
                self._drawn_title = title

    def _drawn_title_text(self, token_id, p, before):
        token = plotly_text(quoted_token(self.tokenizer.token_text(token_id)))
        return (f"The dice chose <span style='color:{CHOSEN}'><b>{token}</b></span> (p = {_percent(p)}) "
                f"after {plotly_text(quoted_token(shorten(before, 30)))}")

    def _show_prompt(self):
        prompt = self.prompt
        shown = shorten(prompt, 400)
        tail = ""
        if self.drawn is not None:
            token_text = self.tokenizer.token_text(self.drawn[0])
            if shown.endswith(token_text) and token_text:
                shown, tail = shown[: -len(token_text)], token_text
        try:
            n_tokens = len(self.tokenizer.encode(prompt))
        except Exception:  # noqa: BLE001 - the count is only a label
            n_tokens = "?"
        tail_html = (
            f'<span style="background:{CHOSEN};color:white;border-radius:3px;padding:0 2px">{html.escape(tail)}</span>'
            if tail else ""
        )
        self.prompt_view.value = (
            f'<div style="font-family:{FONT_FAMILY};font-size:12px;color:#555;line-height:1.4">The text so far '
            f"({n_tokens} tokens, context {self.model.config.block_size}):</div>"
            f'<div style="font-family:{MONO_FAMILY};font-size:13px;white-space:pre-wrap;line-height:1.45;color:{TEXT};'
            f'border:1px solid #ddd;padding:4px 6px;max-height:8em;overflow:auto">{html.escape(shown)}{tail_html}</div>'
        )

    # -- the buttons ----------------------------------------------------------------------------
    def sample(self):
        """Draw one token with the current settings, append it to the prompt, highlight it.

        Returns (token id, token text), or None when the prompt cannot be read.
        """
        prompt = self.prompt
        state = self._generator.get_state()
        try:
            probs = self.distribution(prompt)
            token_id = sample_from(probs, self._generator)
        except Exception as e:  # noqa: BLE001 - shown in the widget, never a traceback
            self._generator.set_state(state)
            self.show_message(error_text(e), "error")
            return None
        self._history.append((prompt, state))
        text = self.tokenizer.decode([token_id])
        self.drawn = (token_id, float(probs[token_id]), prompt)
        self._quiet = True
        try:
            self.prompt_box.value = prompt + text
        finally:
            self._quiet = False
        # The bars keep showing the distribution the token was drawn from, with it highlighted.
        self.probs = probs
        self.clear_message()
        self._draw(probs, self._drawn_title_text(token_id, float(probs[token_id]), prompt), highlight=token_id)
        self._show_prompt()
        return token_id, self.tokenizer.token_text(token_id)

    def undo(self):
        """Take back the last draw (prompt and dice both go back)."""
        if not self._history:
            self.show_message("Nothing to undo: no token has been drawn yet.", "info")
            return
        prompt, state = self._history.pop()
        self._generator.set_state(state)
        self.drawn = None
        self._quiet = True
        try:
            self.prompt_box.value = prompt
        finally:
            self._quiet = False
        self.update()

    def reset(self):
        """Back to the first prompt, with the dice re-seeded."""
        self._history.clear()
        self._generator = make_generator(self.seed)
        self.drawn = None
        self.answers_area.value = ""
        self.last_answers = []
        self._quiet = True
        try:
            self.prompt_box.value = self.initial_prompt
        finally:
            self._quiet = False
        self.update()

    def answers(self, n=None, max_new_tokens=None):
        """Continue the same prompt n times (seeds seed, seed+1, ...), shown side by side."""
        if n is not None:
            top = self.n_answers_slider.max
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= top:
                raise ValueError(f"n (how many answers) must be a whole number from 1 to {top}, not {n!r}")
            self.n_answers_slider.value = n
        n = self.n_answers_slider.value
        if max_new_tokens is not None:
            check_max_new_tokens(max_new_tokens)
        max_new_tokens = max_new_tokens or self.answer_tokens
        prompt = self.prompt
        try:
            self.distribution(prompt)  # checks the prompt and the settings
            outs = [
                generate(self.model, self.tokenizer, prompt, max_new_tokens, self.temperature, self.top_k,
                         self.top_p, seed=offset_seed(self.seed, i), stop=("<|endoftext|>",), allow_empty=False)
                for i in range(n)
            ]
        except Exception as e:  # noqa: BLE001 - shown in the widget, never a traceback
            self.show_message(error_text(e), "error")
            return []
        self.last_answers = outs
        context = html.escape(shorten(prompt, 60))
        cards = "".join(
            f'<div style="flex:1 1 200px;min-width:180px;max-width:300px;border:1px solid #ccc;border-radius:4px;'
            f'padding:6px;margin:3px;background:#fafafa">'
            f'<div style="font-family:{FONT_FAMILY};font-size:11px;color:#666;margin-bottom:3px;line-height:1.3">answer {i + 1} '
            f"(seed {offset_seed(self.seed, i)})</div>"
            f'<div style="font-family:{MONO_FAMILY};font-size:12px;white-space:pre-wrap;line-height:1.45;color:{TEXT}">'
            f'<span style="color:#999">{context}</span>{html.escape(text)}</div></div>'
            for i, text in enumerate(outs)
        )
        settings = f"temperature {self.temperature:g}, top-k {self.top_k or 'off'}, top-p {self.top_p or 'off'}"
        self.answers_area.value = (
            f'<div style="font-family:{FONT_FAMILY};font-size:13px;margin-top:4px;line-height:1.4"><b>The same prompt, {n} answers</b> '
            f"({max_new_tokens} tokens each, {settings}); the prompt is grey.</div>"
            f'<div style="display:flex;flex-wrap:wrap">{cards}</div>'
        )
        return outs

    # -- reading back ----------------------------------------------------------------------------
    def bars(self) -> list:
        """The bars as drawn: [(token text, probability), ...], most likely first."""
        return [(self.tokenizer.token_text(i), float(p)) for i, p in zip(self._bar_ids, self.fig.data[0].x or ())]

    @property
    def rest_probability(self) -> float:
        """The probability all tokens without a bar hold together (the grey bar)."""
        return float(self.fig.data[1].x[0]) if self.fig.data[1].x else 0.0

    def static(self):
        """A plain plotly Figure of the current chart (for pages exported without a kernel)."""
        return go.Figure(self.fig)
