"""What all explorers share: showing themselves, a message area, errors as messages.

An explorer is a plain Python object with a `.widget` (an ipywidgets box) that is what
JupyterLab displays. Tests and lessons drive it through ordinary attributes and methods;
no browser is needed.
"""
import contextlib
import html
import logging
import os
import re

import ipywidgets as W

from .style import message_html

_log = logging.getLogger(__name__)

# While a lesson is exported (scripts/export_site.py sets COURSE_STATIC_EXPORT=1), every explorer
# shown is remembered by its widget's model id, so that its last picture can replace the widget.
STATIC_EXPORT_ENV = "COURSE_STATIC_EXPORT"
_shown = {}


class Explorer:
    """Base class: `.widget` is shown when the object is the last thing in a cell."""

    widget: W.Widget

    def __init__(self):
        self.message_area = W.HTML(value="", layout=W.Layout(width="100%"))
        self._message = ""
        self._sent = {}  # (id of a plotly object, property) -> the value last assigned

    def _set(self, obj, name, value):
        """obj.name = value, unless this very value was assigned last time.

        plotly checks every assignment against its schema, which costs far more than a
        comparison; titles, tick labels and ranges rarely change between two redraws.
        """
        key = (id(obj), name)
        if key in self._sent and self._sent[key] == value:
            return
        setattr(obj, name, value)
        self._sent[key] = value

    # -- display ---------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        view = bundle.get("application/vnd.jupyter.widget-view+json") or {}
        if os.environ.get(STATIC_EXPORT_ENV) == "1" and view.get("model_id"):
            _shown[view["model_id"]] = self
        # What a page without a kernel (an exported lesson) prints instead of the widget.
        bundle["text/plain"] = f"[{type(self).__name__}: a live explorer; run the notebook to use it]"
        return bundle

    def display(self):
        from IPython.display import display

        display(self)

    def static(self):
        """The explorer as it looks now, as HTML a page can show without Python: its text parts
        (the HTML areas of `.widget`: a chat's script, a pair of answers, a table), buttons and
        text boxes left out. Explorers that draw a chart return their figure instead."""
        from IPython.display import HTML

        return HTML("<div class='course-static'>" + "".join(self._html_parts(self.widget)) + "</div>")

    def _html_parts(self, widget) -> list:
        if widget is self.message_area:  # static_html adds the message itself
            return []
        if isinstance(widget, W.HTML):
            return [widget.value]
        return [part for child in getattr(widget, "children", ()) for part in self._html_parts(child)]

    # -- messages ----------------------------------------------------------------------------
    @property
    def message(self) -> str:
        """The message the widget shows right now ('' when all is well)."""
        return self._message

    def show_message(self, text: str, kind: str = "error"):
        self._message = text or ""
        self.message_area.value = message_html(text, kind)

    def clear_message(self):
        self.show_message("")

    @contextlib.contextmanager
    def errors_as_messages(self):
        """Run a block; any error becomes a message in the widget, never a traceback.

        The library's own errors (ValueError, TypeError, OSError such as FileNotFoundError)
        already say what was wrong and what is allowed: their text is the message. Anything
        else is unexpected: the message names its type, and the traceback goes to this
        module's logger at debug level (for whoever develops the course, not the learner).
        """
        try:
            yield
        except Exception as e:  # noqa: BLE001 - a widget must never show a traceback
            self.show_message(error_text(e), "error")


def error_text(e: BaseException) -> str:
    """What a widget says about an error (see Explorer.errors_as_messages)."""
    if isinstance(e, (ValueError, TypeError, OSError)):
        return str(e) or type(e).__name__
    _log.debug("unexpected error in a widget", exc_info=e)
    detail = str(e) if len(str(e)) <= 300 else str(e)[:300] + "..."
    return f"Unexpected error ({type(e).__name__}): {detail}"


def snapshots(*explorers, include_plotlyjs=True):
    """The explorers' current pictures as plain HTML, for pages read without Python.

    A widget needs a running kernel (or, in an exported page, JavaScript fetched from the
    internet) to draw itself; this HTML does not: each figure is plotly's own HTML, with
    plotly.js put into the page once (include_plotlyjs=True, about 4.6 MB, works offline;
    "cdn" loads it from the internet instead).
    """
    from IPython.display import HTML

    if os.environ.get(STATIC_EXPORT_ENV) == "1":
        include_plotlyjs = False  # an exported page loads plotly.js once, from the site's own folder
    return HTML("\n".join(static_html(e, include_plotlyjs=include_plotlyjs if i == 0 else False)
                          for i, e in enumerate(explorers)))


def static_html(explorer, include_plotlyjs=False) -> str:
    """One explorer's current picture (`static()`) and message as HTML (see `snapshots`)."""
    static = explorer.static()
    if hasattr(static, "to_html"):
        text = static.to_html(full_html=False, include_plotlyjs=include_plotlyjs, config={"displaylogo": False})
    else:  # already HTML (the token viewer)
        text = static.data
    return text + (explorer.message_area.value if explorer.message else "")


def shown_snapshots() -> dict:
    """{widget model id: static_html} of every explorer shown since COURSE_STATIC_EXPORT=1 was set.

    The exporter calls it after a lesson's last cell, so each picture is the explorer's last state
    (what the live widget would show at the end of the notebook), without plotly.js.
    """
    return {model_id: static_html(explorer) for model_id, explorer in _shown.items()}


def plain_text(html_text: str) -> str:
    """The text of an HTML fragment (for tests reading a widget's HTML area)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def control_value(control: str, allowed=None):
    """A property that reads and sets `self.<control>.value` (a slider, box or menu).

    allowed: optional `allowed(self, value) -> str or None`; a returned text is the ValueError
    raised for a value the explorer refuses (the control keeps its old value).

        text = control_value("text_box")
        layer = control_value("layer_dropdown", lambda self, v: None if v in range(self.n_layer)
                              else f"layer must be 0..{self.n_layer - 1}, not {v!r}")
    """
    def get(self):
        return getattr(self, control).value

    def set(self, value):
        problem = allowed(self, value) if allowed is not None else None
        if problem:
            raise ValueError(problem)
        getattr(self, control).value = value

    return property(get, set, doc=f"The value of the {control.replace('_', ' ')}.")


def layer_of(self, value):
    """`allowed` rule for a layer number of the explorer's model (self.n_layer layers)."""
    if isinstance(value, bool) or value not in range(self.n_layer):
        return f"layer must be 0..{self.n_layer - 1}, not {value!r}"
    return None
