"""The explorers: one module per widget, each drivable from Python (tests) and shown in JupyterLab.

    >>> from course_lib.widgets import NextWordExplorer
    >>> NextWordExplorer(model, tokenizer, prompt="ROMEO:\\n")

Names are imported on first use, so `course_lib.widgets.style` stays cheap (no plotly).
"""
import importlib

_WHERE = {
    "NextWordExplorer": "next_word",
    "AttentionExplorer": "attention",
    "EmbeddingExplorer": "embedding",
    "TrainingDashboard": "dashboard",
    "ScaleCalculator": "scale_calc",
    "TokenViewer": "tokens",
    "LogitLensExplorer": "logit_lens",
    "NeuronBrowser": "neurons",
    "ChatWidget": "chat",
    "PreferenceWidget": "preference",
    "DescentExplorer": "descent",
    "InductionChart": "induction_chart",
    "TasteWidget": "taste",
    "ProgressWidget": "progress",
    "ClassRLHFWidget": "class_rlhf",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
