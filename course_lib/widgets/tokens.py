"""Token viewer: a text cut into tokens, each a coloured chip with its id.

    >>> viewer = TokenViewer(tokenizer, text="To be, or not to be")
    >>> viewer.tokens            # [(id, text), ...]
    >>> viewer.text = "Wherefore art thou"

Neighbouring chips take turns through four light colour-blind-safe tints, so you can see
where one token ends and the next begins; spaces show as '·', newlines as '↵'.
"""
import html

import ipywidgets as W

from .base import Explorer, control_value, error_text
from .style import CHIP_BORDERS, CHIP_COLOURS, FONT_FAMILY, MONO_FAMILY, TEXT, visible_token

MAX_CHIPS = 2000  # about 450 bytes of HTML a chip: more would make the page slow to send and draw


def chips_html(pieces, show_ids=True) -> str:
    """HTML for a list of (id, text) tokens as chips (usable without the widget)."""
    out = []
    for n, (token_id, text) in enumerate(pieces):
        colour, border = CHIP_COLOURS[n % len(CHIP_COLOURS)], CHIP_BORDERS[n % len(CHIP_BORDERS)]
        ident = (f'<span style="display:block;font-family:{FONT_FAMILY};font-size:10px;color:#555;'
                 f'line-height:1.1">{token_id}</span>') if show_ids else ""
        out.append(
            f'<span title="id {token_id}: {html.escape(repr(text))}" style="display:inline-block;'
            f"background:{colour};border-bottom:3px solid {border};border-radius:3px;margin:2px 1px;"
            f'padding:1px 3px;text-align:center;vertical-align:top">'
            f'<span style="font-family:{MONO_FAMILY};font-size:14px;color:{TEXT};white-space:pre">'
            f"{html.escape(visible_token(text))}</span>{ident}</span>"
        )
        if "\n" in text:
            out.append("<br>")
    return "".join(out)


class TokenViewer(Explorer):
    """Text in; the tokens out as chips with their ids, and how many there are.

    Python API: property `text`; read back `tokens` [(id, text), ...] (all of them), `html`
    (the chips: the first `max_chips`, with a note when there are more), `summary`, `message`.
    """

    def __init__(self, tokenizer, text="To be, or not to be, that is the question.", show_ids=True,
                 max_chips=MAX_CHIPS):
        super().__init__()
        self.tokenizer = tokenizer
        self.show_ids = show_ids
        self.max_chips = max_chips
        self.tokens = []
        self.text_box = W.Textarea(value=text, rows=3, placeholder="Type any text to see its tokens",
                                   layout=W.Layout(width="100%"))
        self.summary_area = W.HTML()
        self.chips_area = W.HTML(layout=W.Layout(width="100%"))
        self.text_box.observe(lambda change: self.update(), "value")
        kind = type(tokenizer).__name__
        self.widget = W.VBox([
            W.HTML(f"<b>Text</b> (cut into tokens by the {kind}, vocabulary of {tokenizer.vocab_size:,})"),
            self.text_box,
            self.message_area,
            self.summary_area,
            self.chips_area,
        ], layout=W.Layout(width="100%", max_width="980px"))
        self.update()

    text = control_value("text_box")

    @property
    def html(self) -> str:
        return self.chips_area.value

    @property
    def summary(self) -> str:
        return self._summary

    def update(self):
        text = self.text
        try:
            if not text:
                raise ValueError("The text is empty: type something to see how it splits into tokens.")
            pieces = self.tokenizer.pieces(text)
        except Exception as e:  # any error is a message in the widget, never a traceback
            self.show_message(error_text(e), "error")
            return False
        self.clear_message()
        self.tokens = pieces
        n_chars, n_tokens = len(text), len(pieces)
        self._summary = (f"{n_chars:,} characters → {n_tokens:,} tokens "
                         f"({n_chars / max(n_tokens, 1):.2f} characters per token)")
        self.summary_area.value = (f'<div style="font-family:{FONT_FAMILY};font-size:13px;color:{TEXT};line-height:1.4">'
                                   f"{html.escape(self._summary)}. Hover a chip for its exact text; the small "
                                   f"number is its id.</div>")
        shown = pieces[: self.max_chips]
        more = ""
        if len(pieces) > len(shown):
            more = (f'<div style="font-family:{FONT_FAMILY};font-size:13px;color:{TEXT};margin-top:6px">'
                    f"… and {len(pieces) - len(shown):,} more tokens, not drawn (the first {len(shown):,} "
                    "are shown; the counts above cover the whole text).</div>")
        self.chips_area.value = f'<div style="line-height:1.2">{chips_html(shown, self.show_ids)}</div>{more}'
        return True

    def static(self):
        """The chips as an IPython HTML object (for pages exported without a kernel)."""
        from IPython.display import HTML

        return HTML(self.summary_area.value + self.chips_area.value)
