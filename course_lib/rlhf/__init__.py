"""Learning from feedback: preferences, a simulated rater, a reward model, PPO and DPO.

The path of lesson 11, one module each:

1. `preferences`: a prompt, two answers, and which one a person liked better, one JSON
   object a line, appended atomically (`save_preference`, `load_preferences`).
2. `rater`: the simulated rater, a transparent stand-in for a person: a few written rules
   (correct beats wrong, polite beats rude, concise beats rambling, on-topic beats
   off-topic) that give an answer a score and say why (`rate`, `compare`). No torch.
3. `reward_model`: the transformer with a scalar head, trained so that
   r(chosen) > r(rejected) (Bradley-Terry loss); it learns to imitate the labels.
4. `ppo_training`: sample answers, score them with the reward model, subtract a penalty for
   drifting away from the SFT model (the KL "leash"), and nudge the policy toward the
   answers that scored above what its value head expected. Also the reward-hacking
   demonstration: with no leash, the policy finds answers the reward model loves and the
   rater does not.
5. `dpo_training`: the shortcut: train the policy on the preference pairs directly, no reward
   model and no sampling.
6. `evaluation` with the rater, not the reward model: win rate against the SFT model and
   accuracy on held-out questions.
7. `taste`: a learner's own taste (a trait such as "ends with a question"), the pairs to label,
   a simulated learner, and DPO on the learner's labels alone.
8. `classroom`: a class on one server: every student's labels in one folder (with who gave
   each), merged with a report (rejects, duplicates, agreement), and the class's own reward
   model and DPO run (`python -m course_lib.rlhf.classroom merge|train CLASS_DIR`).

`scoring` holds what 3-6 share (log-probabilities of answers, packing a batch). Every
public name is also here: `from course_lib import rlhf; rlhf.rate(...)`, `rlhf.ppo(...)`.
They load on first use, so `from course_lib.rlhf import rater` does not import torch.
(The PPO and DPO modules are not called `ppo` and `dpo`: importing a submodule sets the
package's attribute of that name, which would hide the functions `rlhf.ppo` and `rlhf.dpo`.)

Command line (`__main__.py`; data/README.md has the exact commands that made each committed file):
    python -m course_lib.rlhf ppo  --sft data/checkpoints/chat-sft --out runs/my-ppo --save-rm runs/chat-rm
    python -m course_lib.rlhf dpo  --sft data/checkpoints/chat-sft --out runs/my-dpo
    python -m course_lib.rlhf eval --sft data/checkpoints/chat-sft --models data/checkpoints/chat-ppo data/checkpoints/chat-dpo
    python -m course_lib.rlhf hack --sft data/checkpoints/chat-sft --rm runs/chat-rm
"""
import importlib

_HOMES = {  # module -> the public names it holds
    "rater": ("AUTHOR", "OTHER_AUTHORS", "CHARACTERS", "PLAY_TITLES", "OPPOSITES", "PLURALS", "RUDE_PHRASES",
              "HARMFUL_WORDS", "REFUSAL_MARKERS", "GREETING_MARKERS", "THANKS_MARKERS", "GOODBYE_MARKERS",
              "ABOUT_MARKERS", "STYLE_MARKERS", "WORD_BUDGET", "W_CORRECT", "W_WRONG", "W_MISSING", "W_RUDE",
              "W_RUDE_MAX", "W_OFF_TOPIC", "W_PER_EXTRA_WORD", "W_RAMBLE_MAX", "W_REPEAT", "W_EMPTY",
              "words", "classify_prompt", "opposite", "fact_answer", "is_correct", "rate", "compare"),
    "preferences": ("SOURCES", "my_labels_path", "make_preference", "save_preference", "load_preferences",
                    "simulated_preferences", "label_with_rater", "training_pairs"),
    "scoring": ("encode_answer", "pack", "token_logprobs", "answer_logprob", "pair_batch", "training_top_blocks",
                "shuffled_batches", "exact_kl"),
    "reward_model": ("RewardModel", "RewardModelConfig", "bradley_terry_loss", "reward_accuracy",
                     "train_reward_model", "build_reward_model", "save_reward_model", "load_reward_model"),
    "ppo_training": ("ValueHead", "policy_forward", "PPOConfig", "gae", "ppo", "training_prompts",
                     "reward_hacking_demo", "HACKING_RUN", "HACKING_COMMAND", "load_hacking_run"),
    "dpo_training": ("DPOConfig", "dpo_loss", "dpo"),
    "taste": ("TRAITS", "has_trait", "trait_rate", "with_trait", "without_trait", "candidate_pairs",
              "simulated_learner", "train_on_my_labels", "trait_rates"),
    "evaluation": ("heldout_prompts", "seen_questions", "accuracy_by_task", "SCORED_TASKS", "sample_answers",
                   "evaluate", "bootstrap_se", "compare_models", "summarise",
                   "kl_to_reference"),
    "classroom": ("CLASS_DIR_ENV", "class_dir", "student_name", "class_labels_path", "read_class_labels",
                  "merge_class", "load_merged", "student_agreement", "rater_agreement", "simulated_class",
                  "train_class"),
    "__main__": ("main", "build_parser"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_HOME_OF)


def __getattr__(name: str):
    """Load a public name (or a submodule) from its module on first use (PEP 562)."""
    if name in _HOMES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _HOME_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME_OF[name]}"), name)
    globals()[name] = value  # the next look-up is a plain one
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_HOMES))
