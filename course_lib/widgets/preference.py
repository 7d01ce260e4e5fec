"""Preference widget: you are the human in "reinforcement learning from human feedback".

    >>> w = PreferenceWidget(model, tokenizer)   # labels go to data/preferences/my_labels.jsonl
    ...                                          # (on a class server: $COURSE_CLASS_DIR/labels/<you>.jsonl)
    >>> w                                        # a prompt, two answers, four buttons
    >>> w.current                                # {"prompt": ..., "a": ..., "b": ...}
    >>> w.choose("a")                            # "a", "b", "tie" or "skip"; the next pair appears
    >>> w.count, w.labels                        # what is saved so far (survives a kernel restart)
    >>> w.rater_verdict()                        # what the simulated rater would have said

Each label is appended to the file atomically (course_lib.rlhf.save_preference) with
source "human" and "labeller" (who clicked: course_lib.rlhf.student_name()), so a crash or a restarted kernel never loses or tears a label. When the
file cannot be written (a read-only folder, a full disk), the widget says so and keeps
the pair on screen: clicking again (after fixing the folder, or setting `w.path`) saves it.
"""
import html
import random
from pathlib import Path

import ipywidgets as W

from .. import rlhf
from ..chat import answer_many, check_answer_room, load_dialogues
from ..sampling import check_sampling_args, check_seed, offset_seed
from .base import Explorer
from .style import CHIP_BORDERS, CHIP_COLOURS, FONT_FAMILY, TEXT

CHOICES = ("a", "b", "tie", "skip")


def default_prompts(n=200, seed=0) -> list:
    """User messages from the training dialogues, a shuffled selection without repeats."""
    seen, prompts = set(), []
    for record in load_dialogues("train"):
        for turn in record["messages"]:
            if turn["role"] == "user" and turn["content"] not in seen:
                seen.add(turn["content"])
                prompts.append(turn["content"])
    random.Random(seed).shuffle(prompts)
    return prompts[:n]


class PreferenceWidget(Explorer):
    """Shows a prompt and two sampled answers; you click the better one.

    Python API: `current`, `choose(which)`, `next_pair()`, `count`, `labels`,
    `rater_verdict()`, `agreement()`, `path`, `message`.
    """

    def __init__(self, model, tokenizer, prompts=None, path=None, temperature=1.0, seed=0, max_new_tokens=24,
                 show_rater=False):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.prompts = list(prompts) if prompts is not None else default_prompts(seed=seed)
        if not self.prompts:
            raise ValueError("PreferenceWidget needs at least one prompt")
        self.path = rlhf.my_labels_path() if path is None else path
        check_sampling_args(temperature)
        check_answer_room(model.config.block_size, max_new_tokens)
        check_seed(seed)
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        self._draw = 0
        self._rng = random.Random(seed)
        self.current = None

        box = {"border": "1px solid #ccc", "padding": "6px", "width": "48%"}
        self.prompt_area = W.HTML(layout=W.Layout(width="100%"))
        self.answer_a = W.HTML(layout=W.Layout(**box))
        self.answer_b = W.HTML(layout=W.Layout(**box))
        self.buttons = {
            "a": W.Button(description="A is better", button_style="info"),
            "b": W.Button(description="B is better", button_style="info"),
            "tie": W.Button(description="Tie"),
            "skip": W.Button(description="Skip"),
        }
        for which, button in self.buttons.items():
            button.on_click(lambda _, which=which: self._on_choose(which))
        self.rater_toggle = W.Checkbox(value=show_rater, description="show what the simulated rater says",
                                       indent=False)
        self.rater_toggle.observe(lambda _: self._redraw(), "value")
        self.rater_area = W.HTML(layout=W.Layout(width="100%"))
        self.count_area = W.HTML()
        self.widget = W.VBox([
            self.prompt_area,
            W.HBox([self.answer_a, self.answer_b], layout=W.Layout(justify_content="space-between")),
            W.HBox(list(self.buttons.values())),
            self.rater_toggle,
            self.rater_area,
            self.count_area,
            self.message_area,
        ])
        with self.errors_as_messages():
            self.next_pair()

    # -- the pairs -------------------------------------------------------------------------
    def next_pair(self) -> dict:
        """Draw a prompt and two different answers to it (up to 4 tries to make them differ)."""
        prompt = self._rng.choice(self.prompts)
        for _ in range(4):
            self._draw += 1
            seed = None if self.seed is None else offset_seed(self.seed * 1_000_003 % 2**64, self._draw)
            a, b = answer_many(self.model, self.tokenizer, [prompt, prompt], temperature=self.temperature,
                               seed=seed, max_new_tokens=self.max_new_tokens)
            if a != b:
                break
        self.current = {"prompt": prompt, "a": a, "b": b}
        self._redraw()
        return self.current

    def choose(self, which: str):
        """Record your verdict on the current pair and show the next; returns the saved record
        (None for "skip")."""
        if which not in CHOICES:
            raise ValueError(f"choose one of {CHOICES}, not {which!r}")
        if self.current is None:
            raise ValueError("there is no pair to label")
        c = self.current
        record = None
        if which != "skip":
            first, second = (c["b"], c["a"]) if which == "b" else (c["a"], c["b"])
            record = rlhf.make_preference(c["prompt"], first, second, "human", tie=which == "tie",
                                          labeller=rlhf.student_name())
            try:
                rlhf.save_preference(record, self.path)
            except OSError as e:  # the pair stays, so a click after fixing the folder saves it
                folder = next((f for f in Path(self.path).parents if f.exists()), None)
                why = f"{folder} is a file, not a folder" if folder and not folder.is_dir() else e.strerror or e
                raise type(e)(f"Could not save your label to {self.path} ({why}). It is not lost: "
                              "the pair stays here; make the folder writable (or set a new path) and click "
                              "again.") from e
        self.clear_message()
        self.next_pair()
        return record

    # -- what is saved ---------------------------------------------------------------------
    @property
    def labels(self) -> list:
        """Every saved label in the file, ties included."""
        return rlhf.load_preferences(self.path, include_ties=True)

    @property
    def count(self) -> int:
        return len(self.labels)

    def rater_verdict(self) -> dict:
        """The simulated rater's opinion on the current pair (winner "a", "b" or "tie", scores, reasons)."""
        c = self.current
        return rlhf.compare(c["prompt"], c["a"], c["b"])

    def agreement(self) -> dict:
        """How often the simulated rater agrees with your labels (ties and rater ties left out)."""
        seen = rlhf.rater_agreement([r for r in self.labels if r.get("source") == "human"])["overall"]
        total = seen["compared"]
        return {"agree": seen["agree"], "compared": total, "share": seen["agree"] / total if total else None}

    # -- button handlers and drawing -------------------------------------------------------
    def _on_choose(self, which):
        with self.errors_as_messages():
            self.choose(which)

    def _redraw(self):
        c = self.current
        if c is None:
            return
        self.prompt_area.value = (f"<div style='font-family:{FONT_FAMILY};font-size:14px;color:{TEXT}'>"
                                  f"<b>Prompt:</b> {html.escape(c['prompt'])}</div>")
        for area, key, i in ((self.answer_a, "a", 0), (self.answer_b, "b", 1)):
            text = html.escape(c[key]) or "<i>(empty answer)</i>"
            area.value = (f"<div style='font-family:{FONT_FAMILY};font-size:13px;color:{TEXT};"
                          f"background:{CHIP_COLOURS[i]};border-left:4px solid {CHIP_BORDERS[i]};padding:4px'>"
                          f"<b>{key.upper()}</b>: {text}</div>")
        if self.rater_toggle.value:
            v = self.rater_verdict()
            winner = {"a": "A", "b": "B", "tie": "neither (a tie)"}[v["winner"]]
            self.rater_area.value = (
                f"<div style='font-family:{FONT_FAMILY};font-size:12px;color:#444'>The simulated rater prefers "
                f"<b>{winner}</b>. A: {v['score_a']:+.1f} ({html.escape(v['reason_a'])}); "
                f"B: {v['score_b']:+.1f} ({html.escape(v['reason_b'])})</div>")
        else:
            self.rater_area.value = ""
        n = self.count
        self.count_area.value = (f"<span style='font-family:{FONT_FAMILY};font-size:12px;color:#555'>"
                                 f"{n} label{'s' if n != 1 else ''} saved in {html.escape(str(self.path))}</span>")
