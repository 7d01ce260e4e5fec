"""A plotly FigureWidget whose saved state is always the figure as it is now.

plotly's FigureWidget sends each change to the browser as a one-off message ("restyle
this trace", "relayout that axis"), and it refreshes its full state (what a page that
connects later, Voila, or a notebook saved with its widget state, gets) only when the
figure itself is displayed. Inside an ipywidgets box it never is, so a page that
connects after the changes, such as Voila, or an exported HTML page, would show
the empty figure the widget was created with.

`LiveFigure` refreshes that state whenever the full state is asked for (a page
connecting, the widget state being saved), sends it when an explorer is displayed
(`sync`), and checks the first view the browser draws (`redraw_when_shown`); at all
other times the per-change messages stay as small and fast as plotly makes them.
"""
from copy import deepcopy

import plotly.graph_objects as go


class LiveFigure(go.FigureWidget):
    def sync(self):
        """Send the whole figure to the browser now (done when an explorer is displayed).

        In JupyterLab the browser builds a figure's view from the state it already holds,
        so changes made before the figure was on screen must be sent again as state.
        """
        if "_data" in self.__dict__ and "_layout_obj" in self.__dict__:
            self._widget_layout = deepcopy(self._layout_obj._props)
            self._widget_data = deepcopy(self._data)

    def redraw_when_shown(self):
        """Check the first view the browser draws; if it missed the figure, send it again.

        Under load, JupyterLab can lose the messages sent while a widget is still starting
        up, and its first view then shows an empty figure. Once drawn, a view reports its
        traces back to Python: when it has fewer than the figure, the figure is sent to it
        again as new traces and a new layout.
        """
        if not getattr(self, "_checking_view", False):
            self._checking_view = True
            self.observe(self._check_view, "_js2py_traceDeltas")

    def _check_view(self, change):
        report = change["new"]
        if not report:
            return
        self.unobserve(self._check_view, "_js2py_traceDeltas")
        self._checking_view = False
        shown = len(report.get("trace_deltas") or [])
        if shown < len(self.data):
            if shown:
                self._send_deleteTraces_msg(list(range(shown)))
            self._send_addTraces_msg(deepcopy(self._data))
            self._send_relayout_msg(deepcopy(self._layout_obj._props))

    def _refresh_widget_state(self):
        if "_data" not in self.__dict__ or "_layout_obj" not in self.__dict__:
            return  # still being built (ipywidgets asks for the state while opening the comm)
        # Set the trait values directly: assigning them would also send them to the browser.
        self._trait_values["_widget_data"] = deepcopy(self._data)
        self._trait_values["_widget_layout"] = deepcopy(self._layout_obj._props)

    def get_state(self, key=None, drop_defaults=False):
        if key is None or (not isinstance(key, str) and {"_widget_data", "_widget_layout"} & set(key)):
            self._refresh_widget_state()
        return super().get_state(key=key, drop_defaults=drop_defaults)
