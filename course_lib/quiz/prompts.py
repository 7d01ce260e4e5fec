"""Predict first: the learner commits to a guess before the cell that computes the answer.

    guess = None  # your guess here, or use the buttons
    quiz.predict("00", "p1", guess)        # shows the question and a "Lock in my guess" button

    ...the cell that computes the answer...
    quiz.reveal("00", "p1", n_different)   # the answer, next to the guess if one was made

Nothing here ever waits or fails for want of a guess: run top to bottom unattended (the
tests), `predict` says politely that no guess was made and `reveal` just gives the answer.
Guesses are kept for the session (and written to the progress file, `course_lib.progress`).
"""
import html
import math
import re

from .core import WrongKind, normalise, plain_number, prediction

_GUESSES = {}  # (lesson, prediction id) -> the locked-in guess


def _record(q, **fields):
    from .. import progress

    progress.record("prediction", q.lesson, q.id, **fields)


def _label(q, value) -> str:
    if q.kind == "choice":
        return f"{value} ({q.options[q.letters().index(value)]})"
    return f"{value:,.0f}" if abs(value) >= 1000 or isinstance(value, int) else f"{value:.4g}"


def _clean(q, value):
    """The guess in its normal form: a letter, or a number (WrongKind otherwise)."""
    value = plain_number(value)
    if q.kind == "choice":
        if not isinstance(value, str) or value.strip().lower() not in q.letters():
            for letter, option in zip(q.letters(), q.options):  # the option itself, e.g. 1 for "1"
                if str(value) == option:
                    return letter
        return normalise(q, value)[0]
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "").strip())
        except ValueError:
            raise WrongKind(f"guess a number, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise WrongKind(f"guess a number, not {value!r}")
    return int(value) if float(value).is_integer() else float(value)


def _inline_html(text: str) -> str:
    """The question's little Markdown (`code`, *emphasis*, **bold**) as HTML, everything else escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)


class Prediction:
    """A predict-first prompt: `.lock(guess)` records a guess; `.widget` is the picker."""

    def __init__(self, q):
        self.question = q
        self.message = ""
        self.widget = None

    @property
    def key(self):
        return (self.question.lesson, self.question.id)

    @property
    def guess(self):
        return _GUESSES.get(self.key)

    def lock(self, value) -> str:
        """Record `value` as the guess; returns (and shows) the message."""
        q = self.question
        try:
            value = _clean(q, value)
        except WrongKind as e:
            self.message = f"That guess does not fit: {e}."
            return self.message
        _GUESSES[self.key] = value
        _record(q, guess=value)
        self.message = f"🔒 Locked in: {_label(q, value)}. Now run the next cell to see what really happens."
        return self.message

    def _text(self) -> str:
        q = self.question
        lines = [f"Predict first ({q.id}): {q.text}"]
        lines += [f"  {letter}) {option}" for letter, option in zip(q.letters(), q.options)]
        lines.append(self.message or ("No guess yet. Make one and press 'Lock in my guess' (or set `guess` in "
                                      "this cell and run it again); or simply run on to see the answer."))
        return "\n".join(lines)

    def __repr__(self):
        return self._text()

    def _build_widget(self):
        import ipywidgets as W

        q = self.question
        question = W.HTML(f"<b>Predict first.</b> {_inline_html(q.text)}")
        if q.kind == "choice":
            picker = W.RadioButtons(options=[(f"{l}) {o.replace('`', '')}", l) for l, o in zip(q.letters(), q.options)],
                                    value=None, layout=W.Layout(width="auto"))
        else:
            picker = W.Text(placeholder="your guess (a number)", layout=W.Layout(width="14em"))
        button = W.Button(description="Lock in my guess", button_style="primary", layout=W.Layout(width="auto"))
        note = W.HTML(html.escape(self.message or "No guess yet: choose, then press the button."))

        def on_click(_):
            if picker.value in (None, ""):
                note.value = "Choose an answer first (or simply run the next cell)."
                return
            note.value = html.escape(self.lock(picker.value))
            if self.guess is not None:
                picker.disabled = button.disabled = True

        button.on_click(on_click)
        self._picker, self._button, self._note = picker, button, note
        return W.VBox([question, picker, W.HBox([button, note])])

    def _repr_mimebundle_(self, **kwargs):
        try:
            if self.widget is None:
                self.widget = self._build_widget()
        except ImportError:  # no ipywidgets: the text is all there is
            return {"text/plain": self._text()}
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = self._text()
        return bundle


def predict(lesson, pid: str, guess=None) -> Prediction:
    """Show predict-first prompt `pid` of `lesson`; a `guess` other than None is locked in at once."""
    p = Prediction(prediction(lesson, pid))
    if guess is not None:
        p.lock(guess)
    return p


def guess_of(lesson, pid: str):
    """The guess locked in for a prompt this session, or None."""
    q = prediction(lesson, pid)
    return _GUESSES.get((q.lesson, q.id))


def reveal(lesson, pid: str, actual) -> None:
    """Print the real answer (`actual`: a letter for a choice, a number) next to the guess, if any."""
    q = prediction(lesson, pid)
    try:
        actual = _clean(q, actual)
    except WrongKind as e:
        raise ValueError(f"reveal({q.lesson!r}, {q.id!r}, ...): {e}") from None
    guess = _GUESSES.get((q.lesson, q.id))
    text = f"The answer: {_label(q, actual)}."
    if guess is None:
        print(f"{text} (You did not lock in a guess this time; that is fine.)")
        return
    if q.kind == "choice":
        right = guess == actual
        verdict = "you called it! 🎯" if right else "a surprise, then: worth a second look at why."
    else:
        off = abs(guess - actual)
        right = off <= 0.1 * abs(actual) if actual else off == 0
        verdict = "within 10%: well predicted! 🎯" if right else f"off by {_label(q, off)}."
    print(f"{text} You guessed {_label(q, guess)}: {verdict}")
    _record(q, guess=guess, passed=right)
