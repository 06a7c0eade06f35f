#!/usr/bin/env bash
# Create .venv and install workbench with its extras.
# torch comes first, pinned: the CPU build (torch==2.13.0) where no CUDA GPU is present, a CUDA
# build otherwise, so the later install of workbench (torch>=2.4,<3) never pulls a second torch.
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

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: CUDA GPU found: installing the CUDA build of torch"
    # PyPI's Linux wheels of torch are CUDA builds; set TORCH_CUDA_INDEX to pick another CUDA version.
    $PIP install -q "torch==2.13.0" ${TORCH_CUDA_INDEX:+--index-url "$TORCH_CUDA_INDEX"}
  else
    echo "setup: no CUDA GPU: installing the CPU build of torch (torch==2.13.0)"
    # Where PyPI serves CUDA builds only, set TORCH_CPU_INDEX to a CPU wheel index.
    $PIP install -q "torch==2.13.0" ${TORCH_CPU_INDEX:+--index-url "$TORCH_CPU_INDEX"}
  fi
fi
$PIP install -q -e ".[${EXTRAS}]"
echo "setup: ready ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")'))"
