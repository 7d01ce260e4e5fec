"""Careful-user probes (issue "Nothing lost, every bad input a clear error"): each case used to
give a raw traceback, a silent wrong result or a stuck widget."""
import pytest
import torch


def test_dashboard_drops_its_error_note_once_good_events_arrive():
    from course_lib.widgets import TrainingDashboard

    dash = TrainingDashboard(min_interval=0)
    dash.callback("not an event")
    assert "could not read an event" in dash.message
    dash.callback({"kind": "step", "step": 1, "tokens": 32, "elapsed": 0.1, "train_loss": 4.0})
    assert dash.message == ""
    assert dash.history["train_loss"] == [4.0]


def test_token_viewer_caps_what_it_draws_and_says_so(char_tokenizer, small_text):
    from course_lib.widgets import TokenViewer

    text = (small_text * 100)[:100_000]
    viewer = TokenViewer(char_tokenizer, text=text)
    assert len(viewer.tokens) == 100_000  # the counts cover the whole text
    assert "100,000 tokens" in viewer.summary
    assert len(viewer.html) < 2_000_000  # was 23 MB for 100k characters
    assert "98,000 more tokens, not drawn" in viewer.html
    short = TokenViewer(char_tokenizer, text="To be")
    assert "not drawn" not in short.html
