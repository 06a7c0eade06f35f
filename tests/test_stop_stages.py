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
    assert text.strip().splitlines()[-1].endswith("stopped (SIGTERM)")  # after a progress bar's last state
    assert "Traceback" not in text
    assert not out.exists() and not list(out.parent.glob(".tmp-*"))  # nothing half-built, nothing complete


def test_graceful_stop_defers_the_first_signal_and_restores_handlers():
    from workbench.stopping import Stopped, graceful_stop

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


def test_a_worker_forked_inside_graceful_stop_ends_on_sigterm_as_before():
    """A pool worker blocked in C code never runs a Python handler: it must keep the default
    SIGTERM, or a stopping parent waits for it forever."""
    from workbench.stopping import graceful_stop

    with graceful_stop():
        pid = os.fork()
        if pid == 0:  # the worker: blocked, as in a C call, until it is ended
            try:
                if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
                    signal.sigwait([signal.SIGUSR1])
            finally:
                os._exit(3)
        time.sleep(0.5)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


def test_a_stop_survives_a_library_cleanup_that_raises_over_it():
    from workbench.stopping import Stopped, graceful_stop

    with pytest.raises(Stopped) as stopped:
        with graceful_stop():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
            finally:  # as datasets' pool cleanup does: results not ready -> TimeoutError
                raise TimeoutError("results not ready")
    assert stopped.value.exit_code == 143
