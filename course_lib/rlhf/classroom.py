"""A class on one server: every student's labels in one folder, merged, and the class's own RLHF.

When the environment variable COURSE_CLASS_DIR names a folder (the JupyterHub recipe sets
it for every student), the preference widget saves each student's clicks to
`$COURSE_CLASS_DIR/labels/<student>.jsonl`, each record with `"labeller": <student>`
(`class_labels_path`, `student_name`). Appends are atomic (course_lib.fileio), so many
students clicking at once lose and tear nothing. Then the teacher runs:

    python -m course_lib.rlhf.classroom merge CLASS_DIR          # counts, rejects, agreement
    python -m course_lib.rlhf.classroom train CLASS_DIR          # reward model + DPO on the class's labels
    python -m course_lib.rlhf.classroom simulate CLASS_DIR       # a made-up class, for a rehearsal

`merge_class` reads every labels/*.jsonl, rejects malformed lines (file:line and why),
keeps one label per student and pair (the last; "the same pair" is the prompt and the
two answers in either order), writes CLASS_DIR/merged.jsonl and reports how often the
students agreed with each other and with the simulated rater. `train_class` trains a
reward model and a DPO run from the SFT model on those labels alone and saves the class's
model in CLASS_DIR/model (one file set: a killed run leaves the old model or the new one).
`simulated_class` writes a made-up class (a demo, the tests, the benchmark).
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import random
import re
import sys
import time
from itertools import combinations
from pathlib import Path

from ..fileio import append_line_atomic, atomic_write_json, atomic_write_text
from .preferences import SOURCES, make_preference, record_line
from .rater import compare

CLASS_DIR_ENV = "COURSE_CLASS_DIR"
LABELS = "labels"  # the folder in CLASS_DIR that holds one <student>.jsonl each
MERGED = "merged.jsonl"
MODEL, REWARD_MODEL, REPORT = "model", "reward-model", "report.json"

# =======================================================================================
# Who is labelling, and where the labels go
# =======================================================================================


def safe_name(name: str) -> str:
    """A student's name as a file name: letters, digits, '.', '_' and '-' only (others become '_')."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", str(name)).strip("._")[:64]
    return cleaned or "student"


def student_name() -> str:
    """Who is labelling: $JUPYTERHUB_USER (on the class server), else the login name; file-safe."""
    name = os.environ.get("JUPYTERHUB_USER", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no user name known (a container without one)
            name = "student"
    return safe_name(name)


def class_dir():
    """The class folder named by $COURSE_CLASS_DIR, or None when it is not set."""
    value = os.environ.get(CLASS_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def class_labels_path(folder=None, student: str | None = None) -> Path:
    """`<folder>/labels/<student>.jsonl` (folder: $COURSE_CLASS_DIR), its folder created.

    ValueError, saying what to do, when the folder cannot be created or written."""
    folder = Path(folder) if folder is not None else class_dir()
    if folder is None:
        raise ValueError(f"no class folder: set {CLASS_DIR_ENV} to the folder every student can write")
    labels = folder / LABELS
    try:
        labels.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"the class folder {labels} cannot be created ({e.strerror or e}): ask the teacher to "
                         f"make {folder} writable for every student (or set {CLASS_DIR_ENV} to another folder)"
                         ) from e
    if not os.access(labels, os.W_OK | os.X_OK):
        raise ValueError(f"the class folder {labels} is not writable for you: ask the teacher to make it "
                         f"writable for every student (or set {CLASS_DIR_ENV} to another folder)")
    return labels / f"{safe_name(student) if student is not None else student_name()}.jsonl"


# =======================================================================================
# Merging: read, reject, deduplicate, agree
# =======================================================================================


def pair_key(record: dict) -> tuple:
    """"The same pair": the prompt and the two answers, in either order."""
    return record["prompt"], tuple(sorted((record["chosen"], record["rejected"])))


def verdict(record: dict) -> str:
    """The label as "first" or "second" (of the pair's answers in sorted order) or "tie"."""
    if record.get("tie"):
        return "tie"
    return "first" if record["chosen"] == pair_key(record)[1][0] else "second"


def check_record(r) -> str | None:
    """Why a parsed line is not a usable label (None when it is one)."""
    if not isinstance(r, dict):
        return f"not a JSON object but a {type(r).__name__}"
    for name in ("prompt", "chosen", "rejected"):
        if name not in r:
            return f"missing field {name!r}"
        if not isinstance(r[name], str):
            return f"field {name!r} is {type(r[name]).__name__}, not text"
    if r.get("source", "human") not in SOURCES:
        return f"source {r.get('source')!r} is not one of {SOURCES}"
    if "tie" in r and not isinstance(r["tie"], bool):
        return f"field 'tie' is {r['tie']!r}, not true/false"
    if "labeller" in r and not (isinstance(r["labeller"], str) and r["labeller"].strip()):
        return f"field 'labeller' is {r['labeller']!r}, not a name"
    return None


def read_class_labels(folder) -> tuple:
    """(labels, rejected) from every labels/*.jsonl of the class folder, in file and line order.

    Each label gets "labeller" (its own, else the file's name) and "where" ("file:line");
    each rejected line is {"where", "why"}."""
    labels_dir = Path(folder) / LABELS
    if not labels_dir.is_dir():
        raise FileNotFoundError(f"no labels folder at {labels_dir}: the students' labels go there when their "
                                f"servers have {CLASS_DIR_ENV}={folder}")
    labels, rejected = [], []
    for path in sorted(labels_dir.glob("*.jsonl")):
        for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
            where = f"{path.name}:{number}"
            if not raw.strip():
                continue
            try:
                r = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                why = "not UTF-8 text"
            except json.JSONDecodeError as e:
                why = f"not JSON ({e.msg} at column {e.colno})"
            else:
                why = check_record(r)
            if why:
                rejected.append({"where": where, "why": why})
                continue
            labels.append({**r, "labeller": r.get("labeller", path.stem), "where": where})
    return labels, rejected


def deduplicate(labels: list) -> tuple:
    """(kept, duplicates): one label per labeller and pair, the last one; each duplicate is
    {"labeller", "prompt", "kept", "dropped"} ("file:line")."""
    last = {}
    for r in labels:
        last[(r["labeller"], pair_key(r))] = r
    kept_ids = {id(r) for r in last.values()}
    duplicates = [{"labeller": r["labeller"], "prompt": r["prompt"], "dropped": r["where"],
                   "kept": last[(r["labeller"], pair_key(r))]["where"]} for r in labels if id(r) not in kept_ids]
    return [r for r in labels if id(r) in kept_ids], duplicates


def _rate(agree: int, total: int):
    return round(agree / total, 4) if total else None


def student_agreement(labels: list) -> dict:
    """How often students agreed on the pairs more than one of them labelled (one label per
    student and pair, as `deduplicate` leaves them).

    Two students agree when they gave the same verdict; a tie is a verdict of its own
    (a tie agrees only with a tie). "decided" counts only the two-student comparisons
    where neither said tie. Per pair: its votes and agreement; per two students: on how
    many pairs they both labelled, how often they agreed."""
    by_pair = {}
    for r in labels:
        by_pair.setdefault(pair_key(r), {})[r["labeller"]] = verdict(r)
    per_pair, per_two = [], {}
    agree = total = decided_agree = decided = 0
    for (prompt, _), votes in by_pair.items():
        if len(votes) < 2:
            continue
        same = n = 0
        for (a, va), (b, vb) in combinations(sorted(votes.items()), 2):
            n += 1
            same += va == vb
            two = per_two.setdefault((a, b), [0, 0])
            two[0] += va == vb
            two[1] += 1
            if "tie" not in (va, vb):
                decided += 1
                decided_agree += va == vb
        agree, total = agree + same, total + n
        counts = {v: list(votes.values()).count(v) for v in ("first", "second", "tie")}
        per_pair.append({"prompt": prompt, "labellers": len(votes), "votes": counts, "agree": same,
                         "comparisons": n, "rate": _rate(same, n)})
    return {"shared_pairs": len(per_pair), "comparisons": total, "agree": agree, "rate": _rate(agree, total),
            "decided": {"comparisons": decided, "agree": decided_agree, "rate": _rate(decided_agree, decided)},
            "per_pair": per_pair,
            "per_two_students": [{"students": [a, b], "shared_pairs": n, "agree": s, "rate": _rate(s, n)}
                                 for (a, b), (s, n) in sorted(per_two.items())]}


def rater_agreement(labels: list) -> dict:
    """How often the simulated rater picks the label's chosen answer, per labeller and overall.
    Left out and counted: the student's ties and the pairs the rater cannot decide."""
    def empty():
        return {"agree": 0, "compared": 0, "student_ties": 0, "rater_ties": 0}

    overall, per = empty(), {}
    for r in labels:
        mine = per.setdefault(r.get("labeller", "?"), empty())
        if r.get("tie"):
            key = "student_ties"
        else:
            winner = compare(r["prompt"], r["chosen"], r["rejected"])["winner"]
            key = "rater_ties" if winner == "tie" else "compared"
            if winner == "a":
                overall["agree"] += 1
                mine["agree"] += 1
        overall[key] += 1
        mine[key] += 1
    for d in (overall, *per.values()):
        d["rate"] = _rate(d["agree"], d["compared"])
    return {"overall": overall, "per_student": dict(sorted(per.items()))}


def merge_class(folder, out=None) -> dict:
    """Merge the class's labels into `out` (default CLASS_DIR/merged.jsonl, written atomically);
    returns the report (see the module's docstring; `format_report` prints it)."""
    folder = Path(folder)
    t0 = time.perf_counter()
    labels, rejected = read_class_labels(folder)
    kept, duplicates = deduplicate(labels)
    out = Path(out) if out is not None else folder / MERGED
    atomic_write_text(out, "".join(record_line({k: v for k, v in r.items() if k != "where"}) + "\n" for r in kept))
    per_student = {}
    for r in kept:
        s = per_student.setdefault(r["labeller"], {"labels": 0, "ties": 0, "duplicates": 0})
        s["labels"] += 1
        s["ties"] += bool(r.get("tie"))
    for d in duplicates:
        per_student[d["labeller"]]["duplicates"] += 1
    return {"class_dir": str(folder), "out": str(out), "files": len(list((folder / LABELS).glob("*.jsonl"))),
            "students": len(per_student), "read": len(labels) + len(rejected), "rejected": rejected,
            "duplicates": duplicates, "merged": len(kept), "ties": sum(bool(r.get("tie")) for r in kept),
            "per_student": dict(sorted(per_student.items())), "between_students": student_agreement(kept),
            "with_rater": rater_agreement(kept), "seconds": round(time.perf_counter() - t0, 2)}


def load_merged(folder) -> list:
    """The merged labels of a class folder (CLASS_DIR/merged.jsonl; `merge_class` writes it)."""
    path = Path(folder) / MERGED
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m course_lib.rlhf.classroom merge {folder}`")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _percent(rate) -> str:
    return "n/a" if rate is None else f"{100 * rate:.0f}%"


def format_report(report: dict, pairs_shown: int = 5) -> str:
    """The merge report as a few lines of text for the teacher."""
    b, w = report["between_students"], report["with_rater"]["overall"]
    lines = [f"{report['merged']} labels ({report['ties']} ties) from {report['students']} students in "
             f"{report['files']} files, merged into {report['out']}",
             f"rejected lines: {len(report['rejected'])}"]
    lines += [f"  {r['where']}: {r['why']}" for r in report["rejected"][:20]]
    lines.append(f"duplicates (the same student, the same pair; the last kept): {len(report['duplicates'])}")
    lines += [f"  {d['labeller']}: {d['dropped']} dropped, {d['kept']} kept" for d in report["duplicates"][:10]]
    lines.append("labels per student: " + ", ".join(f"{s} {v['labels']}" for s, v in report["per_student"].items()))
    lines.append(f"students agree with each other: {_percent(b['rate'])} of {b['comparisons']} comparisons on "
                 f"{b['shared_pairs']} pairs labelled by more than one student (a tie agrees only with a tie); "
                 f"without ties: {_percent(b['decided']['rate'])} of {b['decided']['comparisons']}")
    for p in sorted(b["per_pair"], key=lambda p: (p["rate"], -p["labellers"]))[:pairs_shown]:
        v = p["votes"]
        lines.append(f"  {_percent(p['rate'])} on {p['prompt'][:50]!r} ({p['labellers']} students: "
                     f"{v['first']} / {v['second']} / {v['tie']} ties)")
    lines.append(f"students agree with the simulated rater: {_percent(w['rate'])} of {w['compared']} labels "
                 f"({w['student_ties']} student ties and {w['rater_ties']} pairs the rater cannot decide left out)")
    if w["compared"]:
        lines.append("  per student: " + ", ".join(f"{s} {_percent(v['rate'])}"
                                                    for s, v in report["with_rater"]["per_student"].items()))
    return "\n".join(lines)


# =======================================================================================
# A made-up class (demo, tests, benchmark)
# =======================================================================================


def simulated_class(folder, pairs: list, students: int = 25, per_student: int = 10, trait: str = "exclaim",
                    consistency: float = 0.85, seed: int = 0) -> dict:
    """Write a made-up class into folder/labels: `students` students each label `per_student`
    of `pairs` (dicts with "prompt", "a", "b"; drawn so that students share pairs), each
    click the answer with `trait` (see rlhf.taste) with probability `consistency`, else the
    other one. Returns {student: records}. Appends like the widget (atomic, with labeller)."""
    from .taste import _preferred, check_trait

    check_trait(trait)
    if not pairs or per_student > len(pairs):
        raise ValueError(f"per_student ({per_student}) must be at most the number of pairs ({len(pairs)})")
    if not 0 <= consistency <= 1:
        raise ValueError(f"consistency must be between 0 and 1, not {consistency!r}")
    rng = random.Random(seed)
    written = {}
    for k in range(students):
        name = f"student{k + 1:02d}"
        path = class_labels_path(folder, name)
        records = []
        for p in rng.sample(pairs, per_student):
            better = _preferred(trait, p["a"], p["b"])
            tie = better is None
            if not tie and rng.random() > consistency:
                better = "a" if better == "b" else "b"
            chosen, rejected = (p["b"], p["a"]) if better == "b" else (p["a"], p["b"])
            record = make_preference(p["prompt"], chosen, rejected, "simulated", tie=tie, labeller=name)
            append_line_atomic(path, record_line(record))
            records.append(record)
        written[name] = records
    return written


# =======================================================================================
# The class's own RLHF: a reward model and DPO on the class's labels alone
# =======================================================================================

CLASS_RM_SETTINGS = {"steps": 30, "batch_size": 8, "lr": 1e-4, "train_blocks": 2}
CLASS_DPO_SETTINGS = {"steps": 30, "batch_size": 8, "lr": 3e-4, "beta": 0.1, "sft_weight": 1.0, "train_blocks": 2}
MIN_LABELS = 8  # labels (ties left out) needed to train at all
MIN_FOR_HELDOUT = 20  # pairs needed before a fifth of them is kept back to test the reward model


def split_by_pair(labels: list, seed: int = 0) -> tuple:
    """(train, heldout): about a fifth of the pairs (all their labels) held out when there are at
    least MIN_FOR_HELDOUT distinct pairs, else none; the same labels and seed give the same split."""
    keys = sorted({pair_key(r) for r in labels},
                  key=lambda k: hashlib.sha256(json.dumps([seed, *k]).encode()).hexdigest())
    held = set(keys[: len(keys) // 5]) if len(keys) >= MIN_FOR_HELDOUT else set()
    return [r for r in labels if pair_key(r) not in held], [r for r in labels if pair_key(r) in held]


def answer_figures(model, tokenizer, prompts: list, reward_model=None, max_new_tokens: int = 32) -> dict:
    """Greedy answers to `prompts`, the mean rater score, each trait's rate (rlhf.taste) and
    the class reward model's mean score."""
    from ..chat import answer_many
    from .rater import rate
    from .taste import TRAITS, trait_rate

    answers = answer_many(model, tokenizer, prompts, temperature=0.0, max_new_tokens=max_new_tokens)
    figures = {"rater_score": round(sum(rate(p, a)[0] for p, a in zip(prompts, answers)) / len(prompts), 3),
               "traits": {t: round(trait_rate(t, answers), 3) for t in TRAITS}}
    if reward_model is not None:
        rewards = [reward_model.score(tokenizer, p, a) for p, a in zip(prompts, answers)]  # cut as in training
        figures["reward"] = round(sum(rewards) / len(prompts), 3)
    return {**figures, "answers": answers}


def train_class(folder, sft_model, tokenizer, prompts: list | None = None, seed: int = 0, save: bool = True,
                progress: bool = False, rm_settings: dict | None = None, dpo_settings: dict | None = None,
                max_new_tokens: int = 32, examples: int = 4) -> tuple:
    """A reward model and a DPO run from `sft_model` (left unchanged) on the class's merged labels
    alone (merged now); returns (policy, reward_model, report). The report: the figures before
    and after, the reward model's accuracy on held-out class labels, KL from the SFT model, a
    few answers before and after.
    With save=True the model goes to CLASS_DIR/model, the reward model to CLASS_DIR/reward-model
    and the report to CLASS_DIR/report.json. `prompts`: held-out questions (default 24 of them)."""
    import torch

    from .dpo_training import DPOConfig
    from .evaluation import kl_to_reference
    from .reward_model import RewardModel, RewardModelConfig, reward_accuracy, train_reward_model
    from .taste import heldout_messages, train_on_my_labels

    folder = Path(folder)
    if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= 39:
        raise ValueError(f"max_new_tokens must be 1..39 (the reward model reads answers of up to 40 tokens with "
                         f"their end token), not {max_new_tokens!r}")
    rm_cfg = RewardModelConfig.build(None, {**CLASS_RM_SETTINGS, **(rm_settings or {}), "seed": seed}, "reward model")
    dpo_cfg = DPOConfig.build(None, {**CLASS_DPO_SETTINGS, **(dpo_settings or {}), "seed": seed}, "DPO")
    merged = merge_class(folder)
    labels = [r for r in load_merged(folder) if not r.get("tie")]
    if len(labels) < MIN_LABELS:
        raise ValueError(f"the class has {len(labels)} label(s) (ties left out) in {folder / LABELS}; training "
                         f"needs at least {MIN_LABELS} (and {MIN_FOR_HELDOUT} different pairs to test the reward "
                         "model on labels it never saw): label a few more pairs")
    prompts = list(prompts) if prompts is not None else heldout_messages()[::5][:24]
    if save:
        from ..checkpoint import check_output_folder

        for name in (MODEL, REWARD_MODEL):  # before anything trains: a finished run must not fail on saving
            check_output_folder(folder / name, flag=str(folder / name), replace_checkpoint=True)
    train, heldout = split_by_pair(labels, seed)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    with torch.enable_grad():  # also where the explorers switched gradients off (class mode)
        rm = RewardModel(sft_model)
        train_reward_model(rm, tokenizer, train, rm_cfg, progress=progress)
        rm_seconds = time.perf_counter() - t0
        policy, dpo_log = train_on_my_labels(sft_model, tokenizer, train, progress=progress, **dpo_cfg.to_dict())
    train_seconds = time.perf_counter() - t0
    with torch.no_grad():  # the saved model holds float16 weights: measure exactly those
        for p in policy.parameters():
            p.copy_(p.half().float())
    before = answer_figures(sft_model, tokenizer, prompts, rm, max_new_tokens)
    after = answer_figures(policy, tokenizer, prompts, rm, max_new_tokens)
    report = {
        "class_dir": str(folder), "students": merged["students"], "labels": len(labels),
        "train_labels": len(train), "heldout_labels": len(heldout), "seed": seed,
        "reward_model": {**rm_cfg.to_dict(), "train_accuracy": round(reward_accuracy(rm, tokenizer, train), 3),
                         "heldout_accuracy": round(reward_accuracy(rm, tokenizer, heldout), 3) if heldout else None},
        "dpo": {**dpo_cfg.to_dict(), "final_accuracy": round(dpo_log[-1]["accuracy"], 3),
                "final_loss": round(dpo_log[-1]["loss"], 4)},
        "before": {k: v for k, v in before.items() if k != "answers"},
        "after": {k: v for k, v in after.items() if k != "answers"},
        "kl": round(kl_to_reference(policy, sft_model, tokenizer, prompts, seed=seed), 4),
        "prompts": len(prompts),
        "examples": [{"prompt": p, "before": a, "after": b}
                     for p, a, b in list(zip(prompts, before["answers"], after["answers"]))[
                         :: max(1, len(prompts) // examples)][:examples]],
        "agreement": {"between_students": merged["between_students"]["rate"],
                      "with_rater": merged["with_rater"]["overall"]["rate"]},
        "rm_seconds": round(rm_seconds, 1), "train_seconds": round(train_seconds, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if save:
        from ..checkpoint import save_checkpoint
        from .reward_model import save_reward_model

        meta = {k: v for k, v in report.items() if k != "examples"}
        save_reward_model(folder / REWARD_MODEL, rm, tokenizer, meta={"report": meta["reward_model"]})
        save_checkpoint(folder / MODEL, policy.cpu(), tokenizer, meta={"kind": "class-dpo", **meta},
                        dtype=torch.float16)
        atomic_write_json(folder / REPORT, report)
    return policy, rm, report


def format_training(report: dict) -> str:
    """The training report as text: the figures before and after, and a few answers."""
    from .taste import TRAITS

    b, a, rm = report["before"], report["after"], report["reward_model"]
    held = (f"{_percent(rm['heldout_accuracy'])} on {report['heldout_labels']} held-out class labels"
            if rm["heldout_accuracy"] is not None else
            f"not tested (fewer than {MIN_FOR_HELDOUT} different pairs; {_percent(rm['train_accuracy'])} on its "
            "own training labels)")
    lines = [f"trained on {report['train_labels']} labels from {report['students']} students in "
             f"{report['train_seconds']} s (reward model {report['rm_seconds']} s)",
             f"reward model picks the class's choice: {held}",
             f"on {report['prompts']} held-out questions (greedy answers), before -> after:",
             f"  rater score {b['rater_score']:+.2f} -> {a['rater_score']:+.2f}; class reward {b['reward']:+.2f} -> "
             f"{a['reward']:+.2f}; KL from the SFT model {report['kl']:.3f} nats per answer"]
    lines += [f"  the answer {TRAITS[t]}: {_percent(b['traits'][t])} -> {_percent(a['traits'][t])} of the time"
              for t in b["traits"]]
    for e in report["examples"]:
        lines += [f"Q: {e['prompt']}", f"  before: {e['before']}", f"  after:  {e['after']}"]
    return "\n".join(lines)


# =======================================================================================
# The command line
# =======================================================================================


def build_parser() -> argparse.ArgumentParser:
    from ..settings import add_flags
    from .dpo_training import DPOConfig
    from .reward_model import RewardModelConfig

    parser = argparse.ArgumentParser(prog="python -m course_lib.rlhf.classroom",
                                     description="Merge a class's preference labels; train the class's own model.")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="merge CLASS_DIR/labels/*.jsonl, report rejects, duplicates, agreement")
    m.add_argument("class_dir")
    m.add_argument("--out", help=f"where the merged labels go (default CLASS_DIR/{MERGED})")
    m.add_argument("--json", action="store_true", help="print the report as JSON")
    s = sub.add_parser("simulate", help="a made-up class for a rehearsal: simulated students label pairs of the "
                                        "SFT model's answers")
    s.add_argument("class_dir")
    s.add_argument("--sft", default=None, help="the SFT checkpoint (default data/checkpoints/chat-sft)")
    s.add_argument("--students", type=int, default=25)
    s.add_argument("--per-student", type=int, default=10, help="labels per student")
    s.add_argument("--pairs", type=int, default=40, help="pairs to label, shared by the class")
    s.add_argument("--trait", default="exclaim", help="what the class likes (rlhf.taste.TRAITS)")
    s.add_argument("--consistency", type=float, default=0.85, help="how often a student clicks the trait")
    s.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("train", help="a reward model and DPO on the class's labels alone (merges first)")
    t.add_argument("class_dir")
    t.add_argument("--sft", default=None, help="the SFT checkpoint (default data/checkpoints/chat-sft)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--prompts", type=int, default=24, help="held-out questions for the figures")
    t.add_argument("--json", action="store_true", help="print the report as JSON")
    add_flags(t, RewardModelConfig, only=("steps", "lr", "train_blocks"), prefix="rm-", defaults=CLASS_RM_SETTINGS)
    add_flags(t, DPOConfig, only=("steps", "lr", "beta", "train_blocks"), defaults=CLASS_DPO_SETTINGS)
    return parser


def _run(args, argv) -> int:
    if args.command == "merge":
        report = merge_class(args.class_dir, args.out)
        print(json.dumps(report, indent=2) if args.json else format_report(report))
        return 0
    from ..checkpoint import load_checkpoint
    from ..paths import CHECKPOINT_DIR
    from ..settings import from_flags
    from .taste import candidate_pairs, check_trait, heldout_messages

    if args.command == "simulate":
        check_trait(args.trait)
        for flag in ("students", "per_student", "pairs"):
            if getattr(args, flag) < 1:
                raise ValueError(f"--{flag.replace('_', '-')} must be a whole number >= 1, not {getattr(args, flag)}")
        if (Path(args.class_dir) / LABELS).is_dir() and any((Path(args.class_dir) / LABELS).iterdir()):
            raise ValueError(f"{Path(args.class_dir) / LABELS} already holds labels: simulate into a new folder")
        sft, tokenizer, _ = load_checkpoint(args.sft or CHECKPOINT_DIR / "chat-sft")
        t0 = time.perf_counter()
        pairs = candidate_pairs(sft, tokenizer, args.trait, n=args.pairs, seed=args.seed)
        written = simulated_class(args.class_dir, pairs, args.students, args.per_student, args.trait,
                                  args.consistency, args.seed)
        print(f"{sum(map(len, written.values()))} labels from {len(written)} simulated students on {len(pairs)} "
              f"pairs in {Path(args.class_dir) / LABELS} ({time.perf_counter() - t0:.1f} s)")
        return 0
    if args.prompts < 1:
        raise ValueError(f"--prompts must be a whole number >= 1, not {args.prompts}")
    if not (Path(args.class_dir) / LABELS).is_dir():
        read_class_labels(args.class_dir)  # the clear error, before a model is loaded
    sft, tokenizer, _ = load_checkpoint(args.sft or CHECKPOINT_DIR / "chat-sft")
    rm_settings = from_flags(args, ("steps", "lr", "train_blocks"), "rm-")
    dpo_settings = from_flags(args, ("steps", "lr", "beta", "train_blocks"))
    _, _, report = train_class(args.class_dir, sft, tokenizer, heldout_messages()[::5][: args.prompts],
                               seed=args.seed, progress=not args.json, rm_settings=rm_settings,
                               dpo_settings=dpo_settings)
    print(json.dumps(report, indent=2) if args.json else format_training(report))
    if not args.json:
        print(f"saved: {Path(args.class_dir) / MODEL}, {Path(args.class_dir) / REWARD_MODEL}, "
              f"{Path(args.class_dir) / REPORT}")
    return 0


def main(argv=None) -> int:
    from ..settings import run_command

    return run_command(build_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
