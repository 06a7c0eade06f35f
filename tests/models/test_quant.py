"""bitsandbytes behaves the same on every CPU: no import noise, one 4-bit path in training and eval."""

import subprocess
import sys


def test_bitsandbytes_kernel_notice_stays_off_stderr():
    # the record bitsandbytes' CPU backend logs at import on AVX512-BF16 CPUs (seen on Intel Xeon);
    # logged by hand so the test checks the filter on every host, and a real warning still shows
    code = (
        "import logging, workbench\n"
        "log = logging.getLogger('bitsandbytes.backends.cpu.ops')\n"
        "log.warning('Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure', 'x')\n"
        "log.warning('a real bitsandbytes warning')\n"
        "import bitsandbytes, peft\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == ["a real bitsandbytes warning"]


def test_4bit_layer_trains_the_same_after_an_evaluation(tiny_model):
    """An eval-mode, no-grad forward (held-out perplexity) must not switch later training forwards
    to another kernel: same outputs, and gradients still flow through the frozen 4-bit base."""
    import bitsandbytes as bnb
    import torch

    from workbench.models.load import load_model

    model, _, _ = load_model(tiny_model, quant="nf4", device="cpu")
    layer = next(m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit))
    x = torch.randn(2, 8, layer.in_features, generator=torch.Generator().manual_seed(0), requires_grad=True)

    def train_forward():
        model.train()
        out = layer(x)
        out.square().sum().backward()
        grad, x.grad = x.grad, None
        return out.detach(), grad

    before, grad_before = train_forward()
    model.eval()
    with torch.no_grad():
        layer(x.detach())
    after, grad_after = train_forward()
    assert grad_after is not None, "no gradient through the 4-bit base after an evaluation"
    assert torch.equal(before, after) and torch.equal(grad_before, grad_after)
