#!/usr/bin/env bash
# One GPU session (an NVIDIA H100 here): the speed check, then the models the lessons ship.
# Usage: OUT=results bash scripts/gpu_session.sh
# Each training command below is also the plain command that remakes a shipped model on any
# machine (without --device cuda it picks the best device there is).
set -uo pipefail
OUT=${OUT:-results}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"

# 1. Speed: GPT-2-small shape, bf16, compiled; then a short real run.
timeout 190 $PY bench/gpu_check.py --seconds 40 --train-seconds 15 --out "$OUT" 2>&1 | tee "$OUT/gpu_check.log"

# 2. The word-level (BPE) model: two dropout/length settings, the lower validation loss is shipped.
for run in "bpe-a --dropout 0.15 --max-steps 3000 --max-seconds 100" "bpe-b --dropout 0.2 --max-steps 6000 --max-seconds 150"; do
  set -- $run; name=$1; shift
  timeout 200 $PY -m course_lib.train --preset shakespeare-bpe --batch-size 64 --eval-interval 250 \
      --no-progress --device cuda "$@" --out "runs/$name" 2>&1 | grep -v '^\s*$' > "$OUT/$name.log"
  tail -n 2 "$OUT/$name.log"
done

# 3. The tiny character-level model.
timeout 120 $PY -m course_lib.train --preset shakespeare-char --batch-size 64 --max-seconds 60 --no-progress --device cuda \
    --out runs/char 2>&1 > "$OUT/char.log"
tail -n 2 "$OUT/char.log"

# Half-precision copies (half the size) packed for the trip back.
$PY - "$OUT" <<'PYEOF'
import sys, tarfile, torch
from course_lib.checkpoint import load_checkpoint, save_checkpoint
out = sys.argv[1]
for name in ("bpe-a", "bpe-b", "char"):
    try:
        model, tok, meta = load_checkpoint(f"runs/{name}")
    except Exception as e:
        print(name, "not saved:", e); continue
    save_checkpoint(f"ship/{name}", model, tok, meta, dtype=torch.float16)
    with tarfile.open(f"{out}/{name}.tar", "w") as t:
        t.add(f"ship/{name}", arcname=name)
    print("packed", name)
PYEOF
ls -la "$OUT"
