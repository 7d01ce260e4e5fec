"""The course's chart widget: plotly's Python figure API, drawn by plotly.js loaded once per page.

plotly's own FigureWidget is an anywidget whose JavaScript is a 5 MB bundle, evaluated
once per chart; anywidget gives each widget model 2 s to load its JavaScript
(`AbortSignal.timeout(2000)` in its front end) and on a slow laptop that deadline passes:
the chart stays as empty axes and never updates (plotly.py issue 5143, voila issue 1533).

`LiveFigure` keeps everything of plotly's figure in Python (`fig.data[0].x = ...`,
`fig.layout.title.text`, `batch_update()`, `update_xaxes`, `on_click`), but its widget
JavaScript is a few lines, and what it shows is the figure itself, as widget state:

- `_widget_data` and `_widget_layout` always hold the whole figure as it is now. After a
  change (or at the end of a `batch_update()`) the part that changed is sent, not a one-off
  "restyle this" message, so a view that starts late, a page that connects later (Voila,
  a reloaded tab) or a message that came before the page was ready cannot lose anything.
- plotly.js (the copy inside the plotly Python package, never a CDN) comes to the page once
  per kernel, as the state of one `PlotlyLibrary` widget that every figure refers to; the
  page evaluates it once, when the first chart is drawn, not inside anywidget's deadline.
- The page redraws with `Plotly.react` at most once per animation frame, so a fast slider
  on a slow machine draws the newest state and skips the ones in between.
- Clicks on a trace call the handlers given to `trace.on_click`, as with FigureWidget.

For pages read without Python, an explorer's `static()` gives a plain `go.Figure`. A chart
that is empty on purpose (the attention explorer's row chart before a token is picked) says
so in `layout.meta = {"empty": why}`: the browser tests fail on any other chart without data.
"""
from pathlib import Path

import anywidget
import numpy as np
import plotly
import plotly.graph_objects as go
import traitlets
from ipywidgets import widget_serialization
from plotly.callbacks import Points

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _json_ready(value, widget=None):
    """The figure as JSON can carry it: numpy arrays and numbers become lists and floats."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # plotly's arrays hold one kind of value: a list of plain numbers or strings is sent as it is.
        if value and not isinstance(value[0], (dict, list, tuple, np.ndarray, np.generic)):
            return value
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


_LIBRARY_JS = "export default {};"  # no view: its state (plotly.js) is read by the figures

_FIGURE_JS = r"""
// plotly.js, once per page: the source comes from the kernel (a PlotlyLibrary widget's state).
function loadPlotly(model) {
  const key = "__courseLibPlotly";
  if (!globalThis[key]) {
    globalThis[key] = (async () => {
      const ref = model.get("_library");
      let library = ref && typeof ref === "object" && ref.get ? ref : null;
      const id = String(ref || "").replace(/^IPY_MODEL_/, "");
      for (let i = 0; i < 100 && !library; i++) {  // the library's model may still be on its way
        try { library = await model.widget_manager.get_model(id); }
        catch (e) { await new Promise(r => setTimeout(r, 100)); }
      }
      if (!library) throw new Error("plotly.js did not arrive from the kernel");
      const url = URL.createObjectURL(new Blob(
        ["(function (module) {\n", library.get("source"), "\n})(globalThis.__courseLibPlotlyModule);"],
        {type: "text/javascript"}));
      globalThis.__courseLibPlotlyModule = {exports: {}};
      await new Promise((resolve, reject) => {  // a script element: the browser parses it off the main thread
        const script = document.createElement("script");
        script.src = url;
        script.onload = resolve;
        script.onerror = () => reject(new Error("plotly.js could not be evaluated"));
        document.head.appendChild(script);
      });
      URL.revokeObjectURL(url);
      const Plotly = globalThis.__courseLibPlotlyModule.exports;
      if (!Plotly || !Plotly.react) throw new Error("plotly.js did not load");
      return Plotly;
    })();
    globalThis[key].catch(() => { globalThis[key] = null; });  // try again with the next chart
  }
  return globalThis[key];
}

function clickedPoints(event) {
  const pts = (event && event.points) || [];
  return {
    trace_indexes: pts.map(p => p.curveNumber),
    point_indexes: pts.map(p => (p.pointNumber !== undefined ? p.pointNumber : p.pointIndex)),
    xs: pts.map(p => (p.x === undefined ? null : p.x)),
    ys: pts.map(p => (p.y === undefined ? null : p.y)),
  };
}

async function render({model, el}) {
  el.classList.add("course-figure");
  const box = document.createElement("div");
  el.appendChild(box);
  let Plotly;
  try {
    Plotly = await loadPlotly(model);
  } catch (e) {
    box.textContent = "This chart could not be drawn: " + e.message;
    box.style.cssText = "color:#D55E00;font-family:sans-serif;font-size:13px;padding:6px";
    return;
  }
  let disposed = false, busy = false, wanted = false, drawn = 0, listening = false;
  const draw = async () => {
    if (disposed) return;
    wanted = false;
    busy = true;
    try {
      // Copies: plotly.js writes into what it draws (autorange), the model's state stays as sent.
      const data = structuredClone(model.get("_widget_data") || []);
      const layout = structuredClone(model.get("_widget_layout") || {});
      layout.datarevision = ++drawn;
      const config = Object.assign({displaylogo: false}, model.get("_config") || {});
      await Plotly.react(box, data, layout, config);
      if (!listening) {
        listening = true;
        box.on("plotly_click", (event) => model.send({event: "click", points: clickedPoints(event)}));
      }
      box.dataset.courseDrawn = String(drawn);
    } catch (e) {
      console.error("[course_lib] chart not drawn:", e);
    }
    busy = false;
    if (wanted) requestAnimationFrame(draw);
  };
  const redraw = () => {
    if (wanted) return;
    wanted = true;
    if (!busy) requestAnimationFrame(draw);
  };
  model.on("change:_widget_data", redraw);
  model.on("change:_widget_layout", redraw);
  model.on("change:_config", redraw);
  // Drawn while hidden (a closed tab), a chart without a set width is resized once it shows.
  let width = 0;
  const resized = new ResizeObserver(() => {
    const w = el.offsetWidth;
    if (disposed || !w || w === width || !box._fullLayout) return;
    width = w;
    if (!(model.get("_widget_layout") || {}).width) Plotly.Plots.resize(box);
  });
  resized.observe(el);
  await draw();
  return () => {
    disposed = true;
    resized.disconnect();
    model.off("change:_widget_data", redraw);
    model.off("change:_widget_layout", redraw);
    model.off("change:_config", redraw);
    Plotly.purge(box);
  };
}

export default { render };
"""


class PlotlyLibrary(anywidget.AnyWidget):
    """plotly.js (from the installed plotly package), sent to the page once per kernel."""

    _esm = traitlets.Unicode(_LIBRARY_JS).tag(sync=True)
    source = traitlets.Unicode().tag(sync=True)


_library = None


def plotly_library() -> PlotlyLibrary:
    """The kernel's one PlotlyLibrary widget (made again if it was closed)."""
    global _library
    if _library is None or _library.comm is None:
        _library = PlotlyLibrary(source=PLOTLY_JS.read_text(encoding="utf-8"))
    return _library


class LiveFigure(go.FigureWidget):
    """A plotly figure whose widget state is the whole figure, drawn by plotly.js loaded once per page."""

    _esm = traitlets.Unicode(_FIGURE_JS).tag(sync=True)
    _css = traitlets.Unicode(".course-figure { min-height: 40px; }").tag(sync=True)
    _widget_data = traitlets.List().tag(sync=True, to_json=_json_ready)
    _widget_layout = traitlets.Dict().tag(sync=True, to_json=_json_ready)
    _library = traitlets.Instance(PlotlyLibrary, allow_none=True).tag(sync=True, **widget_serialization)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._library = plotly_library()
        self.on_msg(self._on_page_message)

    # -- Python -> page: the whole figure as state ---------------------------------------------------
    def _point_state_at_figure(self):
        # The trait values are the figure's own objects (no copy): they are serialised as sent.
        if "_data" in self.__dict__ and "_layout_obj" in self.__dict__:
            self._trait_values["_widget_data"] = self._data
            self._trait_values["_widget_layout"] = self._layout_obj._props

    def _push(self, data=True, layout=True):
        if "_data" not in self.__dict__ or "_layout_obj" not in self.__dict__ or self.comm is None:
            return  # still being built, or closed
        self._point_state_at_figure()
        keys = [k for k, send in (("_widget_data", data), ("_widget_layout", layout)) if send]
        if keys:
            self.send_state(keys)

    def get_state(self, key=None, drop_defaults=False):
        self._point_state_at_figure()  # a page connecting, or the state being saved: the figure now
        return super().get_state(key=key, drop_defaults=drop_defaults)

    # plotly calls these after each change (once per batch_update); FigureWidget sends one-off messages.
    def _send_relayout_msg(self, layout_data, source_view_id=None):
        self._push(data=False)

    def _send_restyle_msg(self, restyle_data, trace_indexes=None, source_view_id=None):
        self._push(layout=False)

    def _send_update_msg(self, restyle_data, relayout_data, trace_indexes=None, source_view_id=None):
        self._push(data=bool(restyle_data), layout=bool(relayout_data))

    def _send_addTraces_msg(self, new_traces_data):
        self._push(layout=False)

    def _send_deleteTraces_msg(self, delete_inds):
        self._push(layout=False)

    def _send_moveTraces_msg(self, current_inds, new_inds):
        self._push(layout=False)

    def _send_animate_msg(self, styles_data, relayout_data, trace_indexes, animation_opts):
        self._push()

    def _repr_mimebundle_(self, include=None, exclude=None, validate=True, **kwargs):
        self._push()
        title = self.layout.title.text or "a chart"
        return {"application/vnd.jupyter.widget-view+json": {
            "version_major": 2, "version_minor": 0, "model_id": self._model_id},
            # What a page without a kernel prints (plotly's own repr is the whole figure as a dict).
            "text/plain": f"[live chart: {title}; run the notebook to see it]"}

    # -- page -> Python: clicks --------------------------------------------------------------------
    def _on_page_message(self, widget, content, buffers):
        if not isinstance(content, dict) or content.get("event") != "click":
            return
        points = content.get("points") or {}
        per_trace = {}
        for x, y, i, t in zip(points.get("xs", []), points.get("ys", []), points.get("point_indexes", []),
                              points.get("trace_indexes", [])):
            if isinstance(t, int) and 0 <= t < len(self.data):
                p = per_trace.setdefault(t, {"point_inds": [], "xs": [], "ys": []})
                p["point_inds"].append(i)
                p["xs"].append(x)
                p["ys"].append(y)
        for t, p in per_trace.items():
            trace = self.data[t]
            trace._dispatch_on_click(Points(trace_name=trace.name, trace_index=t, **p), None)
