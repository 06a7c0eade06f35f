#!/usr/bin/env bash
# On a lent GPU machine (the workplace's `device` tool): set up the carried packages, then run the
# stages named as arguments; logs and JSON results go to $OUT.
#
# The machine has torch, accelerate and tokenizers but not bitsandbytes/datasets; carry them (and
# the versions of transformers/peft this project is tested with) as wheels in .whl/, and the
# smollm2 tokenizer in .whl/tokenizer (see BENCHMARKS.md, "GPU runs"):
#
#   benchmarks/gpu_session.sh env tests train:SmolLM2-135M:paragraphs eval:Llama-3.2-1B
#
# Stages: env | tests | fsdp | train:<config>:<paragraphs|documents>[:extra args] | eval:<config>[:extra args]
#
# fsdp: QLoRA sharded with FSDP2 on every visible GPU (one GPU still checks the wiring): the tiny model in
# 4-bit with the weights stored in the compute dtype, trained, checkpointed and resumed as N processes.
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
SITE=/tmp/site
if [ ! -d "$SITE/bitsandbytes" ]; then
  mkdir -p "$SITE"
  for wheel in .whl/*.whl .whl/*.zip; do python3 -m zipfile -e "$wheel" "$SITE"; done
fi
export PYTHONPATH="$SITE:$PWD" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
TOKENIZER=.whl/tokenizer

for stage in "$@"; do
  IFS=: read -r kind name docs extra <<<"$stage"
  echo "=== $stage ($(date -u +%H:%M:%S))"
  case "$kind" in
    profile)
      # shellcheck disable=SC2086
      python3 benchmarks/profile_train_step.py --model "$name" --tokenizer "$TOKENIZER" $docs $extra 2>&1 \
        | grep -v "Warning\|warnings.warn" | tee "$OUT/profile-$name.log" | tail -40
      ;;
    env)
      nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
      python3 -c "import torch, transformers, peft, bitsandbytes, accelerate, datasets; print('torch', torch.__version__, 'cuda', torch.version.cuda, '| transformers', transformers.__version__, '| peft', peft.__version__, '| bitsandbytes', bitsandbytes.__version__, '| accelerate', accelerate.__version__, '| datasets', datasets.__version__, '|', torch.cuda.get_device_name(0))"
      ;;
    tests)
      python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/training/test_loss.py \
        tests/training/test_train_tiny.py tests/training/test_resume_and_ddp.py -k "not torchrun" 2>&1 | tee "$OUT/tests.log" | tail -15
      ;;
    fsdp)
      python3 -m pytest -q -p no:cacheprovider -m gpu tests/training/test_fsdp_gpu.py 2>&1 | tee "$OUT/fsdp.log" | tail -15
      ;;
    train)
      # shellcheck disable=SC2086
      python3 benchmarks/train_throughput.py --model "$name" --docs "${docs:-paragraphs}" --tokenizer "$TOKENIZER" \
        --json "$OUT/train-$name-${docs:-paragraphs}.json" $extra 2>&1 | grep -v "^  warnings.warn\|UserWarning" | tail -12
      ;;
    eval)
      # shellcheck disable=SC2086
      python3 benchmarks/eval_throughput.py --model "$name" --tokenizer "$TOKENIZER" $docs $extra 2>&1 \
        | tee "$OUT/eval-$name.log" | tail -4
      ;;
    *) echo "unknown stage $stage" ;;
  esac
done
echo "=== done ($(date -u +%H:%M:%S))"
