"""A plotly FigureWidget whose saved state is always the figure as it is now.

plotly's FigureWidget sends each change to the browser as a one-off message ("restyle
this trace", "relayout that axis"), and it refreshes its full state (what a page that
connects later, Voila, or a notebook saved with its widget state, gets) only when the
figure itself is displayed. Inside an ipywidgets box it never is, so a page that
connects after the changes, such as Voila, or an exported HTML page, would show
the empty figure the widget was created with.

`LiveFigure` refreshes that state whenever the full state is asked for (a page
connecting, the widget state being saved), and sends it when an explorer is displayed
(`sync`), and at no other time, so the per-change messages stay as small and fast as
plotly makes them.
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

    def redraw_when_shown(self, parent):
        """Once the browser reports the first view of this figure, send the figure again
        and draw that view afresh (taking it out of `parent` and putting it back).

        Under load, JupyterLab may build the view before it has taken in the changes sent
        while the widget was still starting up, and a view never rereads the full state.
        The browser's report of a new view comes only once the widget is running, so what
        is sent then arrives.
        """
        if parent is None or getattr(self, "_redraw_parent", None) is not None:
            return
        self._redraw_parent = parent
        self.observe(self._first_view, "_view_count")

    def _first_view(self, change):
        if not change["new"] or (change["old"] or 0) >= change["new"]:
            return
        self.unobserve(self._first_view, "_view_count")
        parent = self._redraw_parent
        self.sync()
        children = tuple(parent.children)
        if any(child is self for child in children):
            parent.children = tuple(child for child in children if child is not self)
            parent.children = children

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
