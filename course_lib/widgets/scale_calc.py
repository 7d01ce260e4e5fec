"""Scale calculator: years of reading and years of computing, with the arithmetic shown.

    >>> calc = ScaleCalculator(our_label="our model", our_params=model.num_params(),
    ...                        our_train_tokens=trainer.tokens, our_corpus_tokens=len(train_ids))
    >>> calc.preset = "Llama 3.1 405B (3Blue1Brown: 100 million+ years)"
    >>> calc.compute_years            # 1.2 billion
    >>> calc.add_point("a friend's model", tokens=1e9, params=3e7)

The numbers come from `course_lib.scale` (pure functions, with sources). The chart puts
models on log-log axes: training tokens across, parameters up; the dashed lines mark
how long training would take at the chosen operations per second.
"""
import html
import math
import re

import ipywidgets as W
import plotly.graph_objects as go

from .. import scale
from ..scale import human
from .base import Explorer
from .figure import LiveFigure
from .style import CHOSEN, FONT_FAMILY, MONO_FAMILY, OURS, REFERENCE, REST, TEXT, base_layout

CUSTOM = "(your own settings)"
OUR_PRESET = "our model and corpus"
X_RANGE = (1e3, 1e14)  # training tokens shown on the chart
ISO_YEARS = [(1 / 365 / 24, "1 hour"), (1.0, "1 year"), (1e3, "1,000 years"), (1e6, "1 million years"),
             (1e8, "100 million years")]


def _powers(text: str) -> str:
    """'10^25' -> '10<sup>25</sup>' in HTML."""
    return re.sub(r"10\^(-?\d+)", r"10<sup>\1</sup>", text)


def _short_time(years) -> str:
    """' (3.2 days)' for durations under a year, so small numbers mean something."""
    if years >= 1:
        return ""
    for unit, size in (("days", 365), ("hours", 365 * 24), ("minutes", 365 * 24 * 60)):
        if years * size >= 1:
            return f" ({years * size:.3g} {unit})"
    return f" ({years * 365 * 24 * 3600:.3g} seconds)"


class ScaleCalculator(Explorer):
    """Sliders for the assumptions; years of reading and computing; models on one chart.

    Python API: properties `preset`, `read_tokens`, `words_per_token`, `words_per_minute`,
    `hours_per_day`, `train_tokens`, `params`, `ops_per_second`; read back `reading_years`,
    `compute_years`, `training_ops`, `points()`; `add_point(label, tokens, params)`,
    `measure_this_cpu()`, `fig`.
    """

    def __init__(self, preset=None, our_label="our model", our_params=None, our_train_tokens=None,
                 our_corpus_tokens=None):
        super().__init__()
        self.our_label = our_label
        self.our_params, self.our_train_tokens, self.our_corpus_tokens = our_params, our_train_tokens, our_corpus_tokens
        self.extra_points = []  # (label, tokens, params) added with add_point
        self._quiet = False
        self.presets = dict(scale.PRESETS)
        if our_params and (our_train_tokens or our_corpus_tokens):
            self.presets[OUR_PRESET] = dict(
                read_tokens=our_corpus_tokens or our_train_tokens, train_tokens=our_train_tokens or our_corpus_tokens,
                params=our_params, words_per_token=scale.WORDS_PER_TOKEN, words_per_minute=scale.WORDS_PER_MINUTE,
                hours_per_day=24, ops_per_second=1e9, note=f"{our_label}: the model and text of this course.")

        wide = {"description_width": "150px"}
        box = W.Layout(width="430px")

        def log_slider(description, value, lo, hi):
            return W.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=0.001, description=description,
                                    readout_format=".3g", style=wide, layout=box)

        first = next(iter(self.presets.values()))
        self.preset_dropdown = W.Dropdown(options=list(self.presets) + [CUSTOM], description="preset",
                                          style={"description_width": "60px"}, layout=W.Layout(width="520px"))
        self.read_tokens_slider = log_slider("tokens to read", first["read_tokens"], 3, 14)
        self.words_per_token_slider = W.FloatSlider(value=first["words_per_token"], min=0.3, max=1.5, step=0.05,
                                                    description="words per token", style=wide, layout=box)
        self.wpm_slider = W.IntSlider(value=first["words_per_minute"], min=50, max=1000, step=10,
                                      description="words per minute", style=wide, layout=box)
        self.hours_slider = W.FloatSlider(value=first["hours_per_day"], min=0.5, max=24, step=0.5,
                                          description="hours a day", style=wide, layout=box)
        self.train_tokens_slider = log_slider("training tokens", first["train_tokens"], 3, 14)
        self.params_slider = log_slider("parameters", first["params"], 3, 13)
        self.ops_slider = log_slider("operations per second", first["ops_per_second"], 6, 19)
        self.measure_button = W.Button(description="measure this CPU", icon="tachometer",
                                       tooltip="time a 1024 x 1024 matrix product on this machine")
        self.reading_area = W.HTML()
        self.compute_area = W.HTML()
        self.note_area = W.HTML()
        self.fig = LiveFigure(layout=base_layout(
            "Models by size: training tokens × parameters", "training tokens (log scale)", "parameters (log scale)",
            height=520, showlegend=True, legend=dict(orientation="h", y=-0.18), margin=dict(l=70, r=30, t=70, b=60)))
        self.fig.update_xaxes(type="log", range=[math.log10(X_RANGE[0]), math.log10(X_RANGE[1])], exponentformat="power")
        self.fig.update_yaxes(type="log", range=[3, 13], exponentformat="power")

        # The exact numbers live here; the sliders show them. (A browser slider rounds its value
        # to its step and sends the rounded value back: that echo must not change the result.)
        self.sliders = {
            "read_tokens": self.read_tokens_slider, "words_per_token": self.words_per_token_slider,
            "words_per_minute": self.wpm_slider, "hours_per_day": self.hours_slider,
            "train_tokens": self.train_tokens_slider, "params": self.params_slider,
            "ops_per_second": self.ops_slider,
        }
        self.values = {name: float(slider.value) for name, slider in self.sliders.items()}
        self.preset_dropdown.observe(self._on_preset, "value")
        for name, slider in self.sliders.items():
            slider.observe(lambda change, name=name: self._on_slider(name, change["new"]), "value")
        self.measure_button.on_click(lambda _: self.measure_this_cpu())

        reading = W.VBox([W.HTML("<b>Reading the training text</b>"), self.read_tokens_slider,
                          self.words_per_token_slider, self.wpm_slider, self.hours_slider, self.reading_area],
                         layout=W.Layout(width="470px", margin="0 10px 0 0"))
        computing = W.VBox([W.HTML("<b>Computing the training</b>"), self.train_tokens_slider, self.params_slider,
                            self.ops_slider, self.measure_button, self.compute_area],
                           layout=W.Layout(width="470px"))
        self.widget = W.VBox([self.preset_dropdown, self.note_area, self.message_area,
                              W.HBox([reading, computing], layout=W.Layout(flex_flow="row wrap")), self.fig],
                             layout=W.Layout(width="100%", max_width="980px"))
        self.preset = preset if preset is not None else next(iter(self.presets))
        self.update()

    # -- properties ----------------------------------------------------------------------------------
    def _value_property(name):  # noqa: N805 (a helper used while the class is built)
        def get(self):
            return self.values[name]

        def set_(self, value):
            self._set_value(name, value)
            self._to_custom()
            self.update()

        return property(get, set_, doc=f"The exact {name.replace('_', ' ')} (the slider shows it rounded).")

    read_tokens = _value_property("read_tokens")
    words_per_token = _value_property("words_per_token")
    words_per_minute = _value_property("words_per_minute")
    hours_per_day = _value_property("hours_per_day")
    train_tokens = _value_property("train_tokens")
    params = _value_property("params")
    ops_per_second = _value_property("ops_per_second")
    del _value_property

    def _set_value(self, name, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number, not {value!r}")
        self.values[name] = float(value)
        self._quiet = True
        try:
            self.sliders[name].value = value
        finally:
            self._quiet = False

    @property
    def preset(self) -> str:
        return self.preset_dropdown.value

    @preset.setter
    def preset(self, name):
        if name not in self.presets and name != CUSTOM:
            raise ValueError(f"unknown preset {name!r}; choose one of {list(self.presets)}")
        if self.preset_dropdown.value == name:
            self._apply_preset(name)
        else:
            self.preset_dropdown.value = name

    @property
    def reading_years(self) -> float:
        return scale.reading_years(self.read_tokens, self.words_per_token, self.words_per_minute, self.hours_per_day)

    @property
    def training_ops(self) -> float:
        return scale.training_ops(self.params, self.train_tokens)

    @property
    def compute_years(self) -> float:
        return scale.compute_years(self.training_ops, self.ops_per_second)

    # -- reacting ------------------------------------------------------------------------------------
    def _on_preset(self, change):
        self._apply_preset(change["new"])

    def _apply_preset(self, name):
        if name == CUSTOM:
            self.note_area.value = ""
            return
        p = self.presets[name]
        for key in self.sliders:
            self._set_value(key, p[key])
        self.note_area.value = (f'<div style="font-family:{FONT_FAMILY};font-size:12px;color:#444;line-height:1.4">'
                                f"{html.escape(p['note'])}</div>")
        self.update()

    def _on_slider(self, name, new):
        if self._quiet:
            return
        slider, old = self.sliders[name], self.values[name]
        if isinstance(slider, W.FloatLogSlider):
            echo = abs(math.log10(new) - math.log10(old)) <= slider.step / 2 + 1e-9
        else:
            echo = abs(new - old) <= slider.step / 2 + 1e-9
        if echo:  # the browser rounded our own value to the slider's step: nothing changed
            return
        self.values[name] = float(new)
        self._to_custom()
        self.update()

    def _to_custom(self):
        if self.preset_dropdown.value != CUSTOM:
            self._quiet = True
            try:
                self.preset_dropdown.value = CUSTOM
            finally:
                self._quiet = False
            self.note_area.value = ""

    def measure_this_cpu(self, n=1024, repeats=3) -> float:
        """Time matrix products on this machine and put its speed on the operations slider."""
        speed = scale.measure_cpu_flops(n=n, repeats=repeats)
        self.ops_per_second = speed
        self.show_message(f"This CPU did {human(speed)} operations per second multiplying {n} × {n} matrices.",
                          "info")
        return speed

    def add_point(self, label: str, tokens, params):
        """Put another model on the chart (training tokens, parameters)."""
        for name, value in (("tokens", tokens), ("params", params)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        self.extra_points.append((str(label), float(tokens), float(params)))
        self.update()

    # -- drawing ------------------------------------------------------------------------------------
    def update(self):
        try:
            reading, computing = self.reading_years, self.compute_years
            reading_steps = scale.explain_reading(self.read_tokens, self.words_per_token, self.words_per_minute,
                                                  self.hours_per_day)
            compute_steps = scale.explain_compute(self.params, self.train_tokens, self.ops_per_second)
        except ValueError as e:
            self.show_message(str(e), "error")
            return False
        if not self.message.startswith("This CPU"):
            self.clear_message()
        self.reading_area.value = self._result_html(reading, "years of reading, non-stop", reading_steps,
                                                    [scale.SOURCES["words per token"], scale.SOURCES["reading speed"]])
        self.compute_area.value = self._result_html(computing, "years of computing", compute_steps,
                                                    [scale.SOURCES["6ND"]])
        self._draw_chart()
        return True

    @staticmethod
    def _result_html(years, what, steps, sources):
        lines = _powers(html.escape(steps))
        notes = "".join(f"<li>{html.escape(s)}</li>" for s in sources)
        return (
            f'<div style="font-family:{FONT_FAMILY};color:{TEXT};margin-top:6px;line-height:1.4">'
            f'<span style="font-size:24px;font-weight:700;color:{CHOSEN}">{_powers(html.escape(human(years)))}</span> '
            f'<span style="font-size:14px">{what}{_short_time(years)}</span>'
            f'<div style="font-family:{MONO_FAMILY};font-size:11.5px;white-space:pre-wrap;line-height:1.45;background:#f6f6f6;'
            f'padding:4px 6px;margin-top:4px">{lines}</div>'
            f'<details style="font-size:11px;color:#555"><summary>sources</summary><ul style="margin:2px 0">{notes}'
            f"</ul></details></div>"
        )

    def _draw_chart(self):
        known = [(name, m["tokens"], m["params"]) for name, m in scale.KNOWN_MODELS.items() if m.get("tokens")]
        ours = []
        if self.our_params and self.our_train_tokens:
            ours.append((self.our_label, self.our_train_tokens, self.our_params))
        ours += self.extra_points
        ops_rate = self.ops_per_second
        lo, hi = X_RANGE
        traces = []
        for years, label in ISO_YEARS:
            ops = years * ops_rate * scale.SECONDS_PER_YEAR
            xs = [lo, hi]
            traces.append(go.Scatter(x=xs, y=[ops / (6 * x) for x in xs], mode="lines", showlegend=False,
                                     line=dict(color=REST, dash="dot", width=1), hoverinfo="skip"))

        def hover(label, tokens, params):
            ops = scale.training_ops(params, tokens)
            return (f"<b>{label}</b><br>{human(params)} parameters, {human(tokens)} training tokens<br>"
                    f"6ND = {human(ops)} operations = {human(scale.compute_years(ops, ops_rate))} years at "
                    f"{human(ops_rate)}/s")

        def points(rows, name, colour, symbol, size, position):
            return go.Scatter(
                x=[r[1] for r in rows], y=[r[2] for r in rows], mode="markers+text", name=name,
                text=[r[0] for r in rows], textposition=position, textfont=dict(size=12, color=TEXT),
                marker=dict(color=colour, size=size, symbol=symbol, line=dict(color="white", width=1)),
                hovertext=[hover(*r) for r in rows], hoverinfo="text")

        traces.append(points(known, "published models", REFERENCE, "circle", 12, "middle left"))
        traces.append(points(ours, "ours", OURS, "diamond", 13, "middle right"))
        traces.append(points([("your settings", self.train_tokens, self.params)], "the sliders' settings", CHOSEN,
                             "x", 13, "bottom center"))
        annotations = []
        for years, label in ISO_YEARS:
            ops = years * ops_rate * scale.SECONDS_PER_YEAR
            # Where the line crosses the top of the chart (params = 1e13), or the right edge.
            x_top = ops / (6 * 1e13)
            x, y = (x_top, 1e13) if x_top >= lo else (lo, ops / (6 * lo))
            if x <= hi and 1e3 <= y <= 1e13:
                annotations.append(dict(x=math.log10(x), y=math.log10(y), text=label, showarrow=False,
                                        xanchor="left", yanchor="top", font=dict(size=10, color="#777")))
        if self.our_corpus_tokens:
            traces.append(go.Scatter(x=[self.our_corpus_tokens] * 2, y=[1e3, 1e13], mode="lines",
                                     name="our corpus", line=dict(color=OURS, dash="dash", width=1.5),
                                     hovertext=f"our corpus: {human(self.our_corpus_tokens)} tokens", hoverinfo="text"))
        with self.fig.batch_update():
            if len(self.fig.data) != len(traces):
                self.fig.data = []
                self.fig.add_traces(traces)
            else:
                for old, new in zip(self.fig.data, traces):
                    old.update(new.to_plotly_json(), overwrite=True)
            self.fig.layout.annotations = annotations
            self.fig.layout.title.text = (f"Models by size<br><sup>dotted lines: training time at {human(ops_rate)} "
                                          "operations per second (6 × parameters × tokens)</sup>")

    def points(self) -> list:
        """The labelled points on the chart: [(label, tokens, params), ...]."""
        out = []
        for trace in self.fig.data:
            if trace.mode == "markers+text":
                out += [(t, float(x), float(y)) for t, x, y in zip(trace.text, trace.x, trace.y)]
        return out

    def static(self):
        """A plain plotly Figure of the chart (for pages exported without a kernel)."""
        return go.Figure(self.fig)
