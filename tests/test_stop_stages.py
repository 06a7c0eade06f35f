"""SIGTERM (a process manager, ``workbench jobs stop``) on a stage other than training: it unwinds
like Ctrl+C, leaves no half-built folder and nothing marked complete, exits 143 with one line."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest


def _corpus(path, n=4000):
    import random

    rng = random.Random(0)
    words = "the of and protein kinase receptor binding affinity patient dose clinical trial renal hepatic".split()
    with open(path, "w") as handle:
        for i in range(n):
            handle.write(json.dumps({"text": " ".join(rng.choice(words) for _ in range(200)) + f" doc {i}"}) + "\n")
    return path


@pytest.mark.slow
def test_sigterm_during_inspect_leaves_nothing_complete(tiny_home, tmp_path):
    corpus = _corpus(tmp_path / "corpus.jsonl")
    out = tmp_path / "profiles" / "corpus"
    env = {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "inspect", str(corpus), "--model", "tiny-llama",
                             "--out", str(out), "--num-proc", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stderr = []
    reader = threading.Thread(target=lambda: stderr.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.time() + 300
    while "profiling" not in "".join(stderr):  # the worker processes are busy now
        assert proc.poll() is None, "".join(stderr)[-2000:]
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    text = "".join(stderr)
    assert proc.returncode == 143, text[-2000:]
    assert text.strip().splitlines()[-1] == "stopped (SIGTERM)"
    assert "Traceback" not in text
    assert not out.exists() and not list(out.parent.glob(".tmp-*"))  # nothing half-built, nothing complete


def test_graceful_stop_defers_the_first_signal_and_restores_handlers():
    from workbench.signals import Stopped, graceful_stop

    before = signal.getsignal(signal.SIGTERM)
    with graceful_stop(deferred=True) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert stop.requested and stop.signum == signal.SIGTERM  # noted, the stage goes on to a clean stop
        with pytest.raises(Stopped) as second:  # a second signal stops at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert second.value.exit_code == 130
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(Stopped) as first:
        with graceful_stop():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    assert first.value.exit_code == 143 and isinstance(first.value, KeyboardInterrupt)
