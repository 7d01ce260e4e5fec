"""One look for every widget: colours, readable tokens, messages.

Colours come from the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008),
which stays distinguishable for the common kinds of colour blindness. The same thing
gets the same colour in every lesson: the token the model drew is always `CHOSEN`.

This module imports neither plotly nor ipywidgets, so lessons and other widgets (the
chat and preference widgets) can use it cheaply:

    >>> from course_lib.widgets.style import visible_token, CHOSEN
    >>> visible_token(" to be\\n")
    '·to·be↵'
"""
import html

# Okabe-Ito: the eight colours, by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

# What each colour means, everywhere in the course.
CHOSEN = OKABE_ITO["vermillion"]  # the token that was drawn / picked / highlighted
BAR = OKABE_ITO["blue"]  # ordinary bars: probabilities, weights
NEIGHBOUR = OKABE_ITO["orange"]  # related items: nearest neighbours
TRAIN = OKABE_ITO["blue"]  # training loss
VALIDATION = OKABE_ITO["orange"]  # validation loss
OURS = OKABE_ITO["bluish green"]  # the learner's own model / corpus
REFERENCE = OKABE_ITO["reddish purple"]  # famous reference models
REST = "#9E9E9E"  # "everything else" (the rest of the vocabulary)
MASKED = "#D9D9D9"  # cells a causal mask hides
MUTED = "#BBBBBB"  # background points
TEXT = "#222222"

# Sequential colour scale for weights in [0, 1]: perceptually uniform and colour-blind safe.
HEATMAP_SCALE = "Viridis"

# Token chips: light tints of four Okabe-Ito colours, alternated so neighbouring tokens
# differ; dark text stays readable on all of them.
CHIP_COLOURS = ["#CCE3F2", "#FBE5B6", "#C2E8DA", "#F2D5E6"]  # blue, orange, green, purple tints
CHIP_BORDERS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
MONO_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"

_VISIBLE = {
    " ": "·",
    "\n": "↵",
    "\t": "→",
    "\r": "␍",
    "\u00a0": "⍽",  # no-break space
}


def visible_token(s: str) -> str:
    """A token's text with whitespace made visible: '·' space, '↵' newline, '→' tab.

    Other invisible characters appear as their code (e.g. '\\x07'); the empty string
    appears as '∅'.
    """
    if s == "":
        return "∅"
    out = []
    for ch in s:
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif not ch.isprintable():
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def plotly_text(s: str) -> str:
    """Text for plotly labels, titles and hovers, which read '<...>' as markup: escape it."""
    return html.escape(s, quote=False)


def quoted_token(s: str) -> str:
    """visible_token in quotes, for titles: '·the'."""
    return f"'{visible_token(s)}'"


def shorten(s: str, n: int = 40) -> str:
    """The last n characters of s, with '…' in front when cut (prompts are read from the end)."""
    return s if len(s) <= n else "…" + s[-(n - 1):]


def message_html(text: str, kind: str = "error") -> str:
    """A short message box for inside a widget: 'error' (something to fix) or 'info'."""
    if not text:
        return ""
    colour, background, icon = {
        "error": (OKABE_ITO["vermillion"], "#FDF0E6", "⚠"),
        "info": (OKABE_ITO["blue"], "#E8F2F9", "ℹ"),
    }[kind]
    return (
        f'<div style="border-left:4px solid {colour};background:{background};color:{TEXT};'
        f'padding:4px 8px;margin:2px 0;font-family:{FONT_FAMILY};font-size:13px;white-space:pre-wrap;line-height:1.45">'
        f"{icon} {html.escape(text)}</div>"
    )


def base_layout(title: str, xaxis_title: str = None, yaxis_title: str = None, **extra) -> dict:
    """Plotly layout shared by the widgets: white background, readable font, a title."""
    layout = dict(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)),
        font=dict(family=FONT_FAMILY, size=12, color=TEXT),
        template="plotly_white",
        margin=dict(l=60, r=20, t=50, b=50),
    )
    if xaxis_title is not None:
        layout["xaxis"] = dict(title=dict(text=xaxis_title))
    if yaxis_title is not None:
        layout["yaxis"] = dict(title=dict(text=yaxis_title))
    layout.update(extra)
    return layout
