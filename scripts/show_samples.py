"""Print samples of the shipped models (the ones quoted in data/README.md).

    python scripts/show_samples.py
"""
from course_lib.checkpoint import load_pretrained
from course_lib.sampling import generate

for name, n in [("shakespeare-bpe", 50), ("shakespeare-char", 160)]:
    model, tokenizer, meta = load_pretrained(name)
    for seed, prompt in enumerate(["HAMLET.\n", "KING.\nMy lords,"]):
        print(f"--- {name}, prompt {prompt!r}, temperature 0.8, seed {seed}")
        print(prompt + generate(model, tokenizer, prompt, max_new_tokens=n, seed=seed, temperature=0.8))
