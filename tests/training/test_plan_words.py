"""The plan in the words of the device it is for: no CUDA context in a CPU plan."""

from workbench.training.plan import PlanConfig, estimate, format_plan
from workbench.training.plots import memory_breakdown


def test_a_cpu_plan_names_the_python_runtime_and_a_gpu_plan_the_cuda_context():
    cpu = estimate("smollm2-135m", PlanConfig(gpu="cpu"))
    gpu = estimate("smollm2-135m", PlanConfig(gpu="T4"))
    assert "CUDA" not in format_plan(cpu) and "Python runtime" in format_plan(cpu)
    assert "CUDA context" in format_plan(gpu)
    cpu_names = [t.name for t in memory_breakdown(cpu).data]
    assert not any("CUDA" in name for name in cpu_names) and "Python runtime and libraries + overhead" in cpu_names
    assert "CUDA context and cuBLAS workspace + overhead" in [t.name for t in memory_breakdown(gpu).data]
