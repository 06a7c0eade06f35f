"""The CPU runtime: threads from the CPUs a process may use, the data-loader workers, and bf16 where the CPU has it."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
from workbench.models.runtime import (
    PRECISION_ENV,
    THREADS_ENV,
    apply_threads,
    available_cpus,
    cpu_has_bf16,
    dataloader_workers,
    quota_cpus,
    resolve_precision,
    resolve_runtime,
    resolve_threads,
)


@pytest.fixture
def cpu_max(tmp_path):
    def write(text: str):
        path = tmp_path / "cpu.max"
        path.write_text(text + "\n")
        return path

    return write


def test_the_cgroup_quota_rounds_up_to_whole_cpus(cpu_max, tmp_path):
    assert quota_cpus(cpu_max("150000 100000")) == 2  # 1.5 CPUs of time: two threads can use it
    assert quota_cpus(cpu_max("100000 100000")) == 1
    assert quota_cpus(cpu_max("50000 100000")) == 1
    assert quota_cpus(cpu_max("max 100000")) is None  # no quota
    assert quota_cpus(tmp_path / "missing") is None  # no cgroup v2 (macOS, older Linux)
    assert quota_cpus(cpu_max("garbage")) is None


def test_available_cpus_is_the_smaller_of_affinity_and_quota(cpu_max):
    assert available_cpus(cpu_max("200000 100000"), affinity=set(range(16))) == 2
    assert available_cpus(cpu_max("800000 100000"), affinity={0, 1, 2}) == 3
    assert available_cpus(cpu_max("max 100000"), affinity={5}) == 1
    assert available_cpus(cpu_max("max 100000"), affinity=set(range(64))) == 64


def test_threads_never_exceed_the_cpus_and_the_override_can_lower_them(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert resolve_threads(cpus=2) == 2
    assert resolve_threads(1, cpus=2) == 1
    assert resolve_threads(8, cpus=2) == 2  # never more threads than CPUs
    monkeypatch.setenv(THREADS_ENV, "1")
    assert resolve_threads(cpus=16) == 1
    monkeypatch.setenv(THREADS_ENV, "zero")
    with pytest.raises(WorkbenchError, match=THREADS_ENV):
        resolve_threads(cpus=4)


def test_apply_threads_sets_torch_and_the_runtime_records_it(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv(THREADS_ENV, "1")
    try:
        assert apply_threads() == 1 and torch.get_num_threads() == 1
        runtime = resolve_runtime("cpu", quant="none")
        assert runtime.to_dict()["threads"] == 1
    finally:
        torch.set_num_threads(before)


def test_small_machines_load_data_in_the_main_process():
    assert dataloader_workers(1) == 0 and dataloader_workers(2) == 0 and dataloader_workers(4) == 0
    assert dataloader_workers(16) == 1


def test_bf16_is_read_from_the_cpu_flags(tmp_path):
    epyc = tmp_path / "epyc"
    epyc.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_bf16 avx512_vnni\n")
    sapphire = tmp_path / "sapphire"
    sapphire.write_text("flags\t\t: fpu avx512f amx_bf16 amx_tile\n")
    older = tmp_path / "older"
    older.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni\n")
    arm = tmp_path / "arm"
    arm.write_text("Features\t: fp asimd evtstrm aes\n")
    assert cpu_has_bf16(epyc) and cpu_has_bf16(sapphire)
    assert not cpu_has_bf16(older) and not cpu_has_bf16(arm) and not cpu_has_bf16(tmp_path / "none")


def test_precision_is_bf16_only_on_a_cpu_that_has_it_unless_forced(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert resolve_precision("cpu", has_bf16=True) == "bf16"
    assert resolve_precision("cpu", has_bf16=False) == "fp32"
    assert resolve_precision("cpu", "fp32", has_bf16=True) == "fp32"
    assert resolve_precision("cpu", "bf16", has_bf16=False) == "bf16"
    assert resolve_precision("cuda", has_bf16=True) == "fp32"  # accelerators: the model's own dtype
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert resolve_precision("cpu", has_bf16=True) == "fp32"
    assert resolve_runtime("cpu", quant="none").precision == "fp32"
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(WorkbenchError, match=PRECISION_ENV):
        resolve_precision("cpu")
