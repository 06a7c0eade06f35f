"""benchmarks/gpu_session.sh, the script a lent GPU machine runs: its CPU-side parts (syntax, the files it
names exist, the FSDP stage runs the GPU test of the sharded 4-bit path)."""

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_session.sh"


def test_the_script_parses():
    bash = shutil.which("bash")
    assert bash
    proc = subprocess.run([bash, "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_file_the_script_names_exists():
    text = SCRIPT.read_text()
    named = set(re.findall(r"\b((?:tests|benchmarks)/[\w/.-]+\.(?:py|sh))", text))
    assert "tests/training/test_fsdp_gpu.py" in named and "benchmarks/train_throughput.py" in named
    missing = sorted(path for path in named if not (REPO / path).is_file())
    assert not missing, missing


def test_the_fsdp_stage_runs_the_gpu_marked_sharded_test():
    stage = re.search(r"^\s*fsdp\)\n(.*?);;", SCRIPT.read_text(), flags=re.M | re.S)
    assert stage, "no fsdp) stage"
    assert "-m gpu tests/training/test_fsdp_gpu.py" in stage.group(1)
    test = (REPO / "tests" / "training" / "test_fsdp_gpu.py").read_text()
    assert "pytestmark = pytest.mark.gpu" in test and '"--sharding", "fsdp"' in test and '"nf4"' in test
