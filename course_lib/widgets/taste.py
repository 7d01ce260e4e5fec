"""Taste widget: the preference widget on prepared pairs that differ in one trait (lesson 11).

    >>> pairs = rlhf.taste.candidate_pairs(sft_model, tok, "question", n=20)
    >>> w = TasteWidget(sft_model, tok, pairs)   # labels go to data/preferences/my_labels.jsonl
    >>> w.choose("a")                            # as PreferenceWidget: "a", "b", "tie" or "skip"
    >>> w.my_labels()                            # your saved labels on these pairs (ties left out)

Everything else is PreferenceWidget's: the same buttons, file and rater check. The pairs
come from `course_lib.rlhf.taste.candidate_pairs` (the same seed gives the same pairs, so
after a kernel restart `my_labels()` still finds the labels you saved).
"""
from .. import rlhf
from .preference import PreferenceWidget


class TasteWidget(PreferenceWidget):
    """Shows the prepared pairs one after the other; you click the answer you like better."""

    def __init__(self, model, tokenizer, pairs: list, path=None, show_rater=False):
        pairs = list(pairs)
        if not pairs:
            raise ValueError("TasteWidget needs at least one pair (see rlhf.taste.candidate_pairs)")
        for i, p in enumerate(pairs):
            if not isinstance(p, dict) or not {"prompt", "a", "b"} <= set(p):
                raise ValueError(f"pair {i} must be a dict with 'prompt', 'a' and 'b', not {p!r:.80}")
        self.pairs = pairs
        self.position = 0  # how many pairs have been shown
        super().__init__(model, tokenizer, prompts=[p["prompt"] for p in pairs], path=path, show_rater=show_rater)

    def next_pair(self) -> dict:
        """The next prepared pair (None once every pair has been shown)."""
        if self.position >= len(self.pairs):
            self.current = None
            self.show_message(f"All {len(self.pairs)} pairs are labelled: run the next cells.", "info")
            self.count_area.value = f"{self.count} labels saved in {self.path}"
            return None
        p = self.pairs[self.position]
        self.position += 1
        self.current = {"prompt": p["prompt"], "a": p["a"], "b": p["b"]}
        self._redraw()
        return self.current

    def my_labels(self) -> list:
        """Your labels (source "human") on this widget's pairs, read from the file; ties left out."""
        keys = {(p["prompt"], frozenset((p["a"], p["b"]))) for p in self.pairs}
        return [r for r in rlhf.load_preferences(self.path)
                if r.get("source") == "human" and (r["prompt"], frozenset((r["chosen"], r["rejected"]))) in keys]
