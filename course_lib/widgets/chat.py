"""Chat widget: talk to a fine-tuned model, and see the script it is completing.

    >>> w = ChatWidget(model, tokenizer, temperature=0.7)
    >>> w                            # in JupyterLab: message box, history, temperature, buttons
    >>> w.send("What is 2 plus 3?")  # the answer (also added to the history)
    >>> w.regenerate()               # another answer to the same message (a new draw)
    >>> w.history                    # [{"role": "user", ...}, {"role": "assistant", ...}]
    >>> print(w.script())            # the whole script the model reads, special tokens and all

Each answer is one draw: with `seed=None` every draw is new; with a seed, draw n uses
seed + n (wrapping around 2**64), so a rerun of the same cells gives the same conversation.

Every answer gets its `max_new_tokens` of room in the model's context: when the
conversation grows too long, the model reads only its latest turns (then without the
system line, then only the end of an over-long message), and the widget says so; the
history shown stays whole.
"""
import html

import ipywidgets as W

from ..chat import MAX_ANSWER_TOKENS, SYSTEM_PROMPT, chat, check_answer_room, fit_prompt, render, render_text
from ..sampling import check_sampling_args, check_seed, offset_seed
from .base import Explorer
from .style import CHIP_BORDERS, CHIP_COLOURS, CHOSEN, FONT_FAMILY, MONO_FAMILY, TEXT

TEMPERATURE_MAX = 2.0  # the slider's range is 0 .. 2


def _check_temperature(value, top):
    """A temperature the slider can show: a number from 0 to `top`, else ValueError (never clamped)."""
    check_sampling_args(value)
    if value > top:
        raise ValueError(f"temperature must be from 0 to {top:g} (the slider's range), not {value!r}")
    return value


class ChatWidget(Explorer):
    """A chat window over `course_lib.chat.chat`.

    Python API: `send(text)`, `regenerate()`, `clear()`, `history` (a list of turns),
    `alternatives` (every answer drawn for the last message), `temperature`, `script()`,
    `message` (an error or note shown in the widget), `fit` (what the model's context left
    out of the last prompt: dropped_turns, dropped_system, cropped_tokens, kept_turns).
    """

    def __init__(self, model, tokenizer, temperature=0.7, seed=None, max_new_tokens=MAX_ANSWER_TOKENS,
                 system=SYSTEM_PROMPT, show_script=False, title="Chat with the model"):
        super().__init__()
        check_answer_room(model.config.block_size, max_new_tokens)
        _check_temperature(temperature, TEMPERATURE_MAX)
        self.model = model
        self.tokenizer = tokenizer
        self.seed = check_seed(seed)
        self.fit = None
        self.system = system
        self.max_new_tokens = max_new_tokens
        self.history = []
        self.alternatives = []  # answers drawn for the last user message
        self._draws = 0

        self.title = W.HTML(f"<b style='font-family:{FONT_FAMILY};font-size:15px'>{html.escape(title)}</b>")
        self.history_area = W.HTML(layout=W.Layout(width="100%", max_height="360px", overflow="auto",
                                                   border="1px solid #ddd", padding="4px"))
        self.message_box = W.Text(placeholder="Type a message, then press Send", layout=W.Layout(width="60%"))
        self.send_button = W.Button(description="Send", button_style="primary", icon="paper-plane")
        self.regenerate_button = W.Button(description="Regenerate", icon="refresh",
                                          tooltip="Draw a different answer to the last message")
        self.clear_button = W.Button(description="Clear", icon="trash")
        self.temperature_slider = W.FloatSlider(value=temperature, min=0.0, max=TEMPERATURE_MAX, step=0.05,
                                                description="temperature", readout_format=".2f",
                                                style={"description_width": "initial"},
                                                layout=W.Layout(width="320px"))
        self.script_toggle = W.Checkbox(value=show_script, description="show the script the model reads",
                                        indent=False)
        self.script_area = W.HTML(layout=W.Layout(width="100%"))
        self.send_button.on_click(lambda _: self._on_send())
        self.regenerate_button.on_click(lambda _: self._on_regenerate())
        self.clear_button.on_click(lambda _: self.clear())
        self.script_toggle.observe(lambda _: self._redraw(), "value")
        self.widget = W.VBox([
            self.title,
            self.history_area,
            W.HBox([self.message_box, self.send_button, self.regenerate_button, self.clear_button]),
            W.HBox([self.temperature_slider, self.script_toggle]),
            self.message_area,
            self.script_area,
        ])
        self._redraw()

    # -- settings ------------------------------------------------------------------------
    @property
    def temperature(self) -> float:
        return self.temperature_slider.value

    @temperature.setter
    def temperature(self, value):
        self.temperature_slider.value = float(_check_temperature(value, self.temperature_slider.max))

    # -- talking -------------------------------------------------------------------------
    def _next_seed(self):
        self._draws += 1
        return offset_seed(self.seed, self._draws)

    def _answer(self) -> str:
        _, self.fit = fit_prompt(self.history, self.tokenizer, self.model.config.block_size,
                                 self.max_new_tokens, self.system)
        return chat(self.model, self.tokenizer, self.history, temperature=self.temperature,
                    seed=self._next_seed(), max_new_tokens=self.max_new_tokens, system=self.system)

    def send(self, text: str) -> str:
        """Add a user message, draw the assistant's answer, return it."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("type a message first: it must be non-empty text")
        self.clear_message()
        self.history.append({"role": "user", "content": text})
        try:
            answer = self._answer()
        except Exception:
            self.history.pop()
            raise
        self.history.append({"role": "assistant", "content": answer})
        self.alternatives = [answer]
        if self.fit_note():
            self.show_message(self.fit_note(), "info")
        self._redraw()
        return answer

    def regenerate(self) -> str:
        """Replace the last answer by a new draw for the same message; return it."""
        if not self.history or self.history[-1]["role"] != "assistant":
            raise ValueError("there is no answer to regenerate yet: send a message first")
        self.clear_message()
        last = self.history.pop()
        try:
            answer = self._answer()
        except Exception:
            self.history.append(last)
            raise
        self.history.append({"role": "assistant", "content": answer})
        self.alternatives.append(answer)
        n = len(self.alternatives)
        note = f"answer {n} to the same message (earlier ones: {', '.join(repr(a) for a in self.alternatives[:-1][-3:])})"
        self.show_message(" ".join(filter(None, [note, self.fit_note()])), "info")
        self._redraw(keep_message=True)
        return answer

    def fit_note(self) -> str:
        """What the model did not see of the conversation for the last answer ('' when it saw it all)."""
        fit = self.fit
        if not fit or not (fit["dropped_turns"] or fit["dropped_system"] or fit["cropped_tokens"]):
            return ""
        parts = []
        if fit["dropped_turns"]:
            n = fit["dropped_turns"]
            parts.append(f"the {n} earliest message{'s' if n != 1 else ''}")
        if fit["dropped_system"]:
            parts.append("the system line")
        if fit["cropped_tokens"]:
            parts.append(f"the first {fit['cropped_tokens']} tokens of your message")
        left_out = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        return (f"The model's context holds {self.model.config.block_size} tokens, {self.max_new_tokens} of them "
                f"kept for the answer, so for this answer it did not see {left_out} (the history shown stays).")

    def clear(self):
        """Start a new conversation."""
        self.fit = None
        self.history = []
        self.alternatives = []
        self.clear_message()
        self._redraw()

    def script(self) -> str:
        """The text the model reads for its next answer: the template with special tokens."""
        turns = self.history
        ends_with_user = bool(turns) and turns[-1]["role"] == "user"
        return render_text(turns, add_generation_prompt=ends_with_user, system=self.system)

    # -- button handlers: errors become messages, never tracebacks -----------------------
    def _on_send(self):
        with self.errors_as_messages():
            self.send(self.message_box.value)
            self.message_box.value = ""

    def _on_regenerate(self):
        with self.errors_as_messages():
            self.regenerate()

    # -- drawing -------------------------------------------------------------------------
    def _redraw(self, keep_message=False):
        bubbles = []
        for turn in self.history:
            user = turn["role"] == "user"
            colour, border = (CHIP_COLOURS[0], CHIP_BORDERS[0]) if user else (CHIP_COLOURS[2], CHIP_BORDERS[2])
            align = "flex-end" if user else "flex-start"
            who = "you" if user else "assistant"
            text = html.escape(turn["content"]) or "<i>(empty answer)</i>"
            bubbles.append(
                f"<div style='display:flex;justify-content:{align};margin:3px 0'>"
                f"<div style='background:{colour};border:1px solid {border};border-radius:10px;padding:4px 10px;"
                f"max-width:75%;font-family:{FONT_FAMILY};font-size:13px;color:{TEXT}'>"
                f"<span style='font-size:10px;color:#555'>{who}</span><br>{text}</div></div>")
        if not bubbles:
            bubbles.append(f"<div style='color:#777;font-family:{FONT_FAMILY};font-size:13px'>"
                           "No messages yet. Say hello!</div>")
        self.history_area.value = "".join(bubbles)
        if self.script_toggle.value:
            self.script_area.value = script_html(self.tokenizer, self.history, self.system)
        else:
            self.script_area.value = ""


def script_html(tokenizer, turns, system=SYSTEM_PROMPT) -> str:
    """The script as the model reads it, real special tokens highlighted.

    Built from the token ids, so a user who typed "<|assistant|>" sees it as plain text,
    exactly as the model does.
    """
    ends_with_user = bool(turns) and turns[-1]["role"] == "user"
    ids, _ = render(turns, tokenizer, add_generation_prompt=ends_with_user, system=system)
    special = {i: s for s, i in getattr(tokenizer, "special_ids", {}).items()}
    parts, run = [], []
    for i in ids + [None]:
        if i is None or i in special:
            if run:
                parts.append(html.escape(tokenizer.decode(run)))
                run = []
            if i is not None:
                parts.append(f"<b style='color:{CHOSEN}'>{html.escape(special[i])}</b>")
        else:
            run.append(i)
    return (f"<div style='font-family:{MONO_FAMILY};font-size:12px;white-space:pre-wrap;border:1px dashed #bbb;"
            f"padding:4px'>{''.join(parts)}</div>")
