"""Copy a training run's checkpoint into a shippable one: float16 weights, same config.

    python scripts/ship_checkpoint.py runs/bpe data/checkpoints/shakespeare-bpe
"""
import sys

import torch

from course_lib.checkpoint import load_checkpoint, save_checkpoint

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/ship_checkpoint.py RUN_DIR OUT_DIR")
    model, tokenizer, meta = load_checkpoint(sys.argv[1])
    save_checkpoint(sys.argv[2], model, tokenizer, meta, dtype=torch.float16)
    print(f"saved {sys.argv[2]} ({model.num_params():,} parameters, float16)")
