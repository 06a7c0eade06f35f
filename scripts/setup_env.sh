#!/usr/bin/env bash
# Create .venv and install workbench with its extras, at the versions of the lock (requirements/).
# requirements/cpu.lock where no CUDA GPU is present (torch's CPU build, torch==2.13.0), requirements/
# cuda.lock otherwise; both are pip constraints, so pip installs exactly the locked release of every
# package it needs. torch comes first, so the later install of workbench never pulls a second torch.
# LOCK=cpu|cuda picks a lock by hand; LOCK=none installs the newest releases pyproject.toml allows.
# The lock and extras in use are recorded in $VENV/.workbench-lock (tests/test_lock.py checks the venv
# against that lock).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-app,notebooks,dev}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip

if [ -z "${LOCK:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then LOCK=cuda; else LOCK=cpu; fi
fi
CONSTRAINTS=()
if [ "$LOCK" != none ]; then
  if [ ! -f "requirements/$LOCK.lock" ]; then
    echo "setup: LOCK=$LOCK: no requirements/$LOCK.lock; use LOCK=cpu, cuda or none" >&2
    exit 2
  fi
  CONSTRAINTS=(-c "requirements/$LOCK.lock")
fi
TORCH=$(sed -n 's/^torch==//p' requirements/torch.in)

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  if [ "$LOCK" = cuda ]; then
    echo "setup: CUDA GPU found: installing the CUDA build of torch (requirements/cuda.lock)"
    # PyPI's Linux wheels of torch are CUDA builds; set TORCH_CUDA_INDEX to pick another CUDA version.
    $PIP install -q ${CONSTRAINTS[@]+"${CONSTRAINTS[@]}"} "torch==$TORCH" ${TORCH_CUDA_INDEX:+--index-url "$TORCH_CUDA_INDEX"}
  else
    echo "setup: no CUDA GPU: installing the CPU build of torch (torch==$TORCH, requirements/$LOCK.lock)"
    # Where PyPI serves CUDA builds only, set TORCH_CPU_INDEX to a CPU wheel index.
    $PIP install -q ${CONSTRAINTS[@]+"${CONSTRAINTS[@]}"} "torch==$TORCH" ${TORCH_CPU_INDEX:+--index-url "$TORCH_CPU_INDEX"}
  fi
fi
$PIP install -q ${CONSTRAINTS[@]+"${CONSTRAINTS[@]}"} -e ".[${EXTRAS}]"
printf '%s\n%s\n' "$LOCK" "$EXTRAS" >"$VENV/.workbench-lock"
echo "setup: ready ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")'), lock: $LOCK)"
