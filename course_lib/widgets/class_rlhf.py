"""Class RLHF widget: the class's labels arriving, how much the class agreed, and the class's own model.

    >>> w = ClassRLHFWidget(sft_model, tok)         # the folder: $COURSE_CLASS_DIR (or class_dir=...)
    >>> w.refresh()                                 # merge the labels now: the report (rlhf.merge_class)
    >>> w.counts                                    # {"labels": ..., "students": ..., "rejected": ...}
    >>> w.train()                                   # reward model + DPO on the class's labels alone
    >>> w.make_demo()                               # no class folder: a made-up class to show it with

For the projector (class mode's "Class RLHF" tab). Everything it does is
course_lib.rlhf.classroom's: `merge_class` on Refresh, `train_class` on Train (it also
saves the class's model in the class folder). Without COURSE_CLASS_DIR it says how to set
it and offers a demo class (simulated students who like exclamation marks) in data/class-demo.
"""
import html
from pathlib import Path

import ipywidgets as W

from .. import paths, rlhf
from ..rlhf import classroom
from .base import Explorer
from .style import FONT_FAMILY, TEXT


def demo_dir() -> Path:
    """Where the demo class goes when no class folder is set (git-ignored)."""
    return Path(paths.DATA_DIR) / "class-demo"


def _p(text: str, size: int = 14, colour: str = TEXT) -> str:
    return f"<div style='font-family:{FONT_FAMILY};font-size:{size}px;color:{colour};margin:2px 0'>{text}</div>"


def _pc(rate) -> str:
    return "n/a" if rate is None else f"{100 * rate:.0f}%"


class ClassRLHFWidget(Explorer):
    """Refresh shows the class's labels and agreement; Train tunes the class's model on them.

    Python API: `refresh()`, `report`, `counts`, `train()`, `training`, `make_demo()`,
    `class_dir`, `is_demo`, `message`.
    """

    def __init__(self, model, tokenizer, class_dir=None, prompts=None, rm_settings=None, dpo_settings=None,
                 max_new_tokens: int = 32, seed: int = 0):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        folder = class_dir if class_dir is not None else classroom.class_dir()
        self.is_demo = folder is None
        self.class_dir = Path(folder) if folder is not None else demo_dir()
        self.prompts = prompts
        self.rm_settings, self.dpo_settings = rm_settings, dpo_settings
        self.max_new_tokens, self.seed = max_new_tokens, seed
        self.report = None  # the latest merge report
        self.training = None  # the latest training report

        self.header = W.HTML(layout=W.Layout(width="100%"))
        self.refresh_button = W.Button(description="Refresh", icon="refresh", button_style="info")
        self.train_button = W.Button(description="Train the class's model", icon="play", button_style="success",
                                     layout=W.Layout(width="auto"))
        self.demo_button = W.Button(description="Make a demo class", icon="users",
                                    layout=W.Layout(width="auto", display=None if self.is_demo else "none"))
        self.refresh_button.on_click(lambda _: self._safely(self.refresh))
        self.train_button.on_click(lambda _: self._safely(self.train))
        self.demo_button.on_click(lambda _: self._safely(self.make_demo))
        self.summary = W.HTML(layout=W.Layout(width="100%"))
        self.results = W.HTML(layout=W.Layout(width="100%"))
        self.widget = W.VBox([self.header, W.HBox([self.refresh_button, self.train_button, self.demo_button]),
                              self.message_area, self.summary, self.results])
        self._draw_header()
        with self.errors_as_messages():
            if (self.class_dir / classroom.LABELS).is_dir():
                self.refresh()

    # -- the Python API ----------------------------------------------------------------------
    def refresh(self) -> dict:
        """Merge the labels that have arrived (rlhf.merge_class) and show the counts and agreement."""
        if not (self.class_dir / classroom.LABELS).is_dir():
            raise FileNotFoundError(f"no labels have arrived yet in {self.class_dir / classroom.LABELS}"
                                    + (": press 'Make a demo class' to see how it works" if self.is_demo else ""))
        self.report = rlhf.merge_class(self.class_dir)
        self.clear_message()
        self._draw_summary()
        return self.report

    @property
    def counts(self) -> dict:
        """Labels (ties included), students and rejected lines in the latest merge."""
        r = self.report or {"merged": 0, "students": 0, "rejected": []}
        return {"labels": r["merged"], "students": r["students"], "rejected": len(r["rejected"])}

    def train(self) -> dict:
        """A reward model and DPO on the class's labels alone (rlhf.train_class, which merges first
        and saves the class's model in the class folder); shows the figures and answers before/after."""
        self.show_message("Training the reward model and the class's model on the class's labels… "
                          "(about a minute on the server)", "info")
        _, _, self.training = rlhf.train_class(
            self.class_dir, self.model, self.tokenizer, self.prompts, seed=self.seed, rm_settings=self.rm_settings,
            dpo_settings=self.dpo_settings, max_new_tokens=self.max_new_tokens)
        self.refresh()
        self._draw_results()
        return self.training

    def make_demo(self, pairs=None, students: int = 25, per_student: int = 10) -> dict:
        """Write a made-up class into the demo folder (only when no class folder is set): simulated
        students who mostly like answers that end with '!'. pairs: default 40 the model's own
        (rlhf.taste.candidate_pairs)."""
        if not self.is_demo:
            raise ValueError(f"this is a real class ({self.class_dir}): the demo writes only to {demo_dir()}")
        if pairs is None:
            from ..rlhf import taste

            self.show_message("Making 40 pairs to label with the model… (a few seconds)", "info")
            pairs = taste.candidate_pairs(self.model, self.tokenizer, "exclaim", n=40, seed=self.seed)
        labels = self.class_dir / classroom.LABELS
        for old in labels.glob("*.jsonl") if labels.is_dir() else ():
            old.unlink()  # a fresh demo class each time
        classroom.simulated_class(self.class_dir, pairs, students, per_student, "exclaim", seed=self.seed)
        return self.refresh()

    # -- drawing -----------------------------------------------------------------------------
    def _safely(self, action):
        with self.errors_as_messages():
            action()

    def _draw_header(self):
        where = html.escape(str(self.class_dir))
        if self.is_demo:
            text = (f"<b>No class folder is set</b>, so this shows a <b>demo class</b> in {where}. On the class "
                    f"server, set <code>{classroom.CLASS_DIR_ENV}</code> to a folder every student can write "
                    "(e.g. <code>export COURSE_CLASS_DIR=/srv/class</code> before starting JupyterHub): each "
                    "student's clicks in the Preferences tab then land in its <code>labels/</code> folder.")
        else:
            text = f"The class's labels arrive in <b>{where}/labels/</b>, one file per student. Press Refresh."
        self.header.value = _p(text)

    def _draw_summary(self):
        r = self.report
        b, w = r["between_students"], r["with_rater"]["overall"]
        per = r["with_rater"]["per_student"]
        rows = "".join(f"<tr><td>{html.escape(s)}</td><td align='right'>{v['labels']}</td>"
                       f"<td align='right'>{_pc(per[s]['rate'])}</td></tr>" for s, v in r["per_student"].items())
        table = ("<table style='font-size:12px;border-collapse:collapse'><tr><th align='left'>student</th>"
                 f"<th>labels</th><th>agrees with the rater</th></tr>{rows}</table>") if rows else ""
        first = r["rejected"][0] if r["rejected"] else None
        rejected = (f"; {len(r['rejected'])} damaged line(s) left out (first: {html.escape(first['where'])}: "
                    f"{html.escape(first['why'])})" if first else "")
        self.summary.value = (
            _p(f"<b>{r['merged']} labels from {r['students']} students</b> ({r['ties']} ties{rejected})", 18)
            + _p(f"Students agree with each other on <b>{_pc(b['rate'])}</b> of {b['comparisons']} comparisons "
                 f"({b['shared_pairs']} pairs labelled by more than one student; a tie agrees only with a tie; "
                 f"without ties {_pc(b['decided']['rate'])} of {b['decided']['comparisons']}).")
            + _p(f"Students agree with the simulated rater on <b>{_pc(w['rate'])}</b> of {w['compared']} labels."
                 if w["compared"] else "The simulated rater cannot tell the answers of these pairs apart: its rules "
                 "say nothing about what the students judged.")
            + f"<details><summary style='font-family:{FONT_FAMILY};font-size:13px'>per student</summary>"
              f"{table}</details>")

    def _draw_results(self):
        t = self.training
        b, a, rm = t["before"], t["after"], t["reward_model"]
        held = (f"{_pc(rm['heldout_accuracy'])} of {t['heldout_labels']} class labels it never saw"
                if rm["heldout_accuracy"] is not None else "not tested (too few different pairs)")
        rows = [("rater score (mean)", f"{b['rater_score']:+.2f}", f"{a['rater_score']:+.2f}"),
                ("class reward model's score", f"{b['reward']:+.2f}", f"{a['reward']:+.2f}")]
        rows += [(f"the answer {rlhf.TRAITS[k]} (share)", _pc(b["traits"][k]), _pc(a["traits"][k]))
                 for k in b["traits"]]
        figures = "".join(f"<tr><td>{html.escape(n)}</td><td align='right'>{x}</td><td align='right'>{y}</td></tr>"
                          for n, x, y in rows)
        examples = "".join(
            f"<tr><td>{html.escape(e['prompt'])}</td><td>{html.escape(e['before'])}</td>"
            f"<td><b>{html.escape(e['after'])}</b></td></tr>" for e in t["examples"])
        style = "style='font-family:{};font-size:13px;border-collapse:collapse' cellpadding='4'".format(FONT_FAMILY)
        self.results.value = (
            _p(f"<b>The class's model</b>: trained on {t['train_labels']} labels in {t['train_seconds']:.0f} s. "
               f"The reward model picks the class's choice on {held}. KL from the SFT model: {t['kl']:.3f} nats "
               f"per answer.")
            + f"<table {style}><tr><th align='left'>on {t['prompts']} held-out questions</th><th>before</th>"
              f"<th>after</th></tr>{figures}</table>"
            + f"<table {style}><tr><th align='left'>question</th><th align='left'>before (SFT)</th>"
              f"<th align='left'>after (the class's model)</th></tr>{examples}</table>")
        self.show_message(f"Done: the class's model is saved in {self.class_dir / classroom.MODEL}.", "info")
