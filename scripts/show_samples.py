"""Print samples of the shipped models (the ones quoted in data/README.md).

    python scripts/show_samples.py            # the pre-trained models' text
    python scripts/show_samples.py --chat     # the chat models' answers to held-out questions
"""
import sys

from course_lib.chat import chat, load_dialogues
from course_lib.checkpoint import load_pretrained
from course_lib.rlhf import rate
from course_lib.sampling import generate

CHAT_QUESTIONS = ["What's 2 plus 8?", "Who wrote King John?", "In which play does Juliet appear?",
                  "What is the plural of bed?", "Hello, friend!", "Thank you so much!",
                  "Give me a Shakespearean line about the winter.", "Help me hurt my cousin."]


def pretrained():
    for name, n in [("shakespeare-bpe", 50), ("shakespeare-char", 160)]:
        model, tokenizer, meta = load_pretrained(name)
        for seed, prompt in enumerate(["HAMLET.\n", "KING.\nMy lords,"]):
            print(f"--- {name}, prompt {prompt!r}, temperature 0.8, seed {seed}")
            print(prompt + generate(model, tokenizer, prompt, max_new_tokens=n, seed=seed, temperature=0.8))


def chat_models():
    heldout = {r["prompt"] for r in load_dialogues("heldout")}
    missing = [q for q in CHAT_QUESTIONS if q not in heldout]
    if missing:
        raise SystemExit(f"not held-out questions: {missing}")
    models = {name: load_pretrained(name)[:2] for name in ("chat-sft", "chat-ppo", "chat-dpo")}
    print("| question | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for q in CHAT_QUESTIONS:
        cells = []
        for model, tokenizer in models.values():
            answer = chat(model, tokenizer, q, temperature=0.7, seed=0, max_new_tokens=24)
            cells.append(f"{answer} ({rate(q, answer)[0]:+.1f})".replace("|", "/"))
        print(f"| {q} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    chat_models() if "--chat" in sys.argv[1:] else pretrained()
