"""The chart layer (course_lib/widgets/figure.py): the widget state is always the whole figure.

No browser: what the page would receive is read from the widget's state and the messages it
sends (tests/browser/test_slow_machine.py checks the drawing itself, CPU throttled).
"""
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from course_lib.widgets.figure import PLOTLY_JS, LiveFigure, plotly_library


class Sent:
    """Collect the state updates a widget sends (in place of the comm's send)."""

    def __init__(self, widget):
        self.states = []
        widget._send = lambda msg, buffers=None: self.states.append(json.loads(json.dumps(msg["state"])))

    def keys(self):
        return [sorted(s) for s in self.states]


def test_a_batch_sends_the_whole_figure_once():
    fig = LiveFigure(data=[go.Bar(x=[1, 2], y=[0, 1])])
    sent = Sent(fig)
    with fig.batch_update():
        fig.data[0].x = [3, 4]
        fig.layout.title.text = "new"
    assert sent.keys() == [["_widget_data", "_widget_layout"]]
    state = sent.states[0]
    assert state["_widget_data"][0]["x"] == [3, 4] and state["_widget_data"][0]["y"] == [0, 1]
    assert state["_widget_layout"]["title"]["text"] == "new"


def test_each_change_sends_only_what_changed_and_the_state_is_the_figure_now():
    fig = LiveFigure(data=[go.Scatter(x=[0], y=[0])])
    sent = Sent(fig)
    fig.layout.xaxis.range = [0, 5]
    fig.data[0].y = np.array([1.5])  # numpy becomes plain JSON
    fig.add_trace(go.Bar(x=[1], y=[2]))
    assert sent.keys() == [["_widget_layout"], ["_widget_data"], ["_widget_data"]]
    assert sent.states[1]["_widget_data"][0]["y"] == [1.5]
    state = fig.get_state()  # what a page connecting now (Voila, a reload) gets
    assert [t["type"] for t in state["_widget_data"]] == ["scatter", "bar"]
    assert state["_widget_layout"]["xaxis"]["range"] == [0, 5]
    fig.data = []
    assert fig.get_state()["_widget_data"] == []


def test_clicks_from_the_page_reach_on_click():
    fig = LiveFigure(data=[go.Bar(x=[1, 2]), go.Heatmap(x=[0, 1], y=[0, 1], z=[0.1, 0.2])])
    seen = []
    fig.data[1].on_click(lambda trace, points, state: seen.append((trace.type, points.xs, points.ys)))
    fig._on_page_message(fig, {"event": "click", "points": {"trace_indexes": [1], "point_indexes": [[1, 0]],
                                                             "xs": [0], "ys": [1]}}, [])
    fig._on_page_message(fig, {"event": "click", "points": {"trace_indexes": [7], "point_indexes": [0],
                                                             "xs": [0], "ys": [0]}}, [])  # no such trace
    fig._on_page_message(fig, "junk", [])
    assert seen == [("heatmap", [0], [1])]


def test_plotly_js_comes_from_the_plotly_package_once_per_kernel():
    a, b = LiveFigure(), LiveFigure()
    assert a._library is b._library is plotly_library()
    assert PLOTLY_JS.is_file() and "plotly" in PLOTLY_JS.parent.parent.name
    assert a._library.source.startswith("/**") and "Plotly" in a._library.source[:2000]
    assert len(a._esm) < 10_000, "the figure's own widget code stays small (anywidget's 2 s deadline)"
    assert "http" not in a._esm.replace("https://github.com", "")


def test_a_static_copy_is_a_plain_figure():
    fig = LiveFigure(data=[go.Bar(x=[1, 2])], layout=dict(title=dict(text="t")))
    static = go.Figure(fig)
    assert not isinstance(static, go.FigureWidget) and static.layout.title.text == "t"
    assert static.data[0].x == (1, 2)


@pytest.mark.parametrize("value", [np.float32(0.5), np.int64(3)])
def test_numpy_scalars_become_json(value):
    fig = LiveFigure(data=[go.Scatter(x=[0], y=[0])])
    fig.layout.xaxis.range = [value, 10]
    json.dumps(fig.get_state()["_widget_layout"])
