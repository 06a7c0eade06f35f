"""The job queue and GPUs: a training job holds the GPUs it asked for, a job waiting for them says which run
holds them and how many, and a run started from the CLI as N processes reads as holding N GPUs."""

from __future__ import annotations

import time

import pytest

from workbench import jobs
from workbench.errors import WorkbenchError
from workbench.io import write_json
from workbench.status import write_status
from workbench.workspace import Workspace

pytestmark = pytest.mark.usefixtures("job_env")  # jobs in the tiny model's cache, reaped after each test


def _config(tiny_model, sample_dir, name):
    from workbench.training.config import TrainConfig

    return TrainConfig(model=str(tiny_model), data=str(sample_dir / "domain_corpus.jsonl"), max_tokens=512,
                       block_size=64, micro_batch_size=4, eval_every=0.5, eval_max_tokens=128, name=name)


def test_a_job_asks_for_one_gpu_or_more(tmp_path, tiny_model, sample_dir):
    ws = Workspace(tmp_path / "ws")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(WorkbenchError) as err:
            jobs.launch("train", _config(tiny_model, sample_dir, "bad"), ws, gpus=bad)
        assert err.value.field == "gpus"
    assert not ws.folder("runs", "bad").exists()


@pytest.mark.slow
def test_a_waiting_job_says_who_holds_how_many_gpus(tmp_path, tiny_model, sample_dir):
    from workbench.jobs.runner import acquire_training_slot

    ws = Workspace(tmp_path / "ws")
    holder = ws.folder("runs", "big-sharded-run")
    held = acquire_training_slot(ws, holder, gpus=4)  # a run on 4 GPUs holds the workspace's GPUs
    try:
        assert (ws.root / ".jobs" / "train.gpus").read_text() == "4"
        job = jobs.launch("train", _config(tiny_model, sample_dir, "small"), ws, gpus=1)
        assert job.gpus == 1 and job.spec()["gpus"] == 1
        deadline = time.time() + 240
        while job.status().get("phase") != "waiting for the GPU":
            assert time.time() < deadline, job.logs()
            time.sleep(0.05)
        status = job.status()
        assert status["waiting_for"] == str(holder) and status["held_gpus"] == 4
        assert job.stop()["state"] in ("stopping", "stopped")
        assert job.wait(120)["state"] == "stopped"
    finally:
        held.close()


def test_a_cli_run_of_several_processes_holds_that_many_gpus(tmp_path):
    run = tmp_path / "runs" / "sharded"
    run.mkdir(parents=True)
    write_json(run / "run.json", {"kind": "run", "config": {"model": "tiny-llama"}, "processes": 2})
    write_status(run, "stopped")
    job = jobs.attach(run)
    assert job.kind == "train" and job.gpus == 2
