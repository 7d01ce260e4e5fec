"""ProgressWidget: the learner's progress table (course_lib.progress), with a refresh button.

    >>> from course_lib.widgets import ProgressWidget
    >>> ProgressWidget()
"""
import html

import ipywidgets as W

from .. import progress
from .base import Explorer


class ProgressWidget(Explorer):
    """Per lesson: exercises passed, the best exit-quiz score, predictions made."""

    def __init__(self, path=None):
        super().__init__()
        self.path = path
        self.table = W.HTML()
        self.refresh_button = W.Button(description="refresh", layout=W.Layout(width="max-content"))
        self.refresh_button.on_click(lambda _: self.refresh())
        self.widget = W.VBox([W.HTML("<b>Your progress</b>"), self.table, self.refresh_button, self.message_area])
        self.refresh()

    def refresh(self):
        """Read the progress file again and redraw the table."""
        entries = progress.load(self.path)
        self.rows = progress.rows(entries)
        where = html.escape(str(self.path or progress.progress_file()))
        note = "" if entries else f"<p>No progress saved yet (results are kept in <code>{where}</code>).</p>"
        cells = "".join("<th style='text-align:left;padding:2px 12px'>" + html.escape(h) + "</th>" for h in progress.HEADERS)
        body = "".join("<tr>" + "".join(f"<td style='padding:2px 12px'>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self.rows)
        self.table.value = f"{note}<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
