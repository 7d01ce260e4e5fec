#!/usr/bin/env bash
# One lent GPU session (H100/H200: 15 minutes of device time for everything), in two calls
# of at most ~9 minutes each. Everything lands in $OUT, which comes back to the caller.
#
#   PART=speed bash scripts/gpu_session.sh   # MFU at GPT-2-small shape, one change at a time
#   PART=path  bash scripts/gpu_session.sh   # the learner's GPU path: lessons, SFT/RM/PPO/DPO, a remake
#
# Each training command below is also the plain command that remakes a shipped model on any
# machine (without --device cuda it picks the best device there is).
set -uo pipefail
OUT=${OUT:-results}
PART=${PART:-speed}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())" \
    | tee -a "$OUT/gpu.txt"

if [ "$PART" = speed ]; then
  # 1. What each step toward >= 50% MFU buys (bench/gpu_check.py --help): the plain compiled
  #    bf16 run, then the fused output layer + loss, then no biases, then Triton autotuning.
  #    About 60-100 s per variant (compilation included); a failed variant does not stop the others.
  timeout 540 $PY bench/gpu_check.py --seconds 25 --train-seconds 15 --out "$OUT" \
      --variants base fused fused+nobias fused+nobias+autotune 2>&1 | tee "$OUT/gpu_check.log"
  exit 0
fi

# 2. The learner's path, device picked automatically (cuda): every lesson as a learner runs it,
#    timed (bench/lesson_times.py writes the table to stdout).
timeout 300 $PY bench/lesson_times.py --modes learner 2>&1 | tee "$OUT/lesson_times.log"

# 3. Chat fine-tuning and RLHF on the GPU in bf16: short runs of each stage with the shipped
#    recipes' settings (the full recipes are in data/README.md).
for stage in \
  "sft  $PY -m course_lib.chat sft --base data/checkpoints/shakespeare-bpe --steps 100 --out runs/gpu-sft --device cuda" \
  "ppo  $PY -m course_lib.rlhf ppo --sft data/checkpoints/chat-sft --steps 5 --rm-steps 40 --out runs/gpu-ppo --save-rm runs/gpu-rm --device cuda" \
  "dpo  $PY -m course_lib.rlhf dpo --sft data/checkpoints/chat-sft --steps 40 --out runs/gpu-dpo --device cuda"; do
  set -- $stage; name=$1; shift
  start=$(date +%s)
  timeout 120 "$@" > "$OUT/$name.log" 2>&1; code=$?
  echo "$name: exit $code, $(( $(date +%s) - start )) s" | tee -a "$OUT/stages.txt"
  tail -n 3 "$OUT/$name.log"
done

# 4. Remake the word-level (BPE) model as data/README.md says, for as long as the session allows.
timeout 150 $PY -m course_lib.train --preset shakespeare-bpe --batch-size 64 --dropout 0.2 --max-steps 6000 \
    --eval-interval 250 --max-seconds 120 --no-progress --device cuda --out runs/bpe 2>&1 | grep -v '^\s*$' > "$OUT/bpe.log"
tail -n 2 "$OUT/bpe.log"
ls -la "$OUT"
