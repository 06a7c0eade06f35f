"""The CUDA path: NF4 QLoRA training, the chunked loss under bf16 autocast, evaluation on the GPU.

Marked ``gpu``: skipped where torch sees no CUDA device (CI); run on a lent GPU with
``pytest -m gpu``.
"""

import pytest
import torch

pytestmark = pytest.mark.gpu


def test_nf4_model_loads_on_the_gpu_with_bf16_compute(tiny_model):
    import bitsandbytes as bnb

    from workbench.models.load import load_model

    model, _, _ = load_model(str(tiny_model), quant="nf4")
    linears = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert linears and all(m.weight.quant_type == "nf4" for m in linears)
    assert linears[0].compute_dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    assert next(model.parameters()).device.type == "cuda"


def test_qlora_training_runs_on_the_gpu(tiny_model, tmp_path, workspace):
    from workbench.io import read_json, read_jsonl
    from workbench.training.config import TrainConfig
    from workbench.workflows import train

    config = TrainConfig(model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.5,
                         eval_max_tokens=256, learning_rate=5e-3, out=str(tmp_path / "run"))
    run = train(config, workspace, progress=False)
    card = read_json(run / "run.json")
    assert card["state"] == "finished" and card["hardware"]["gpu"]
    assert card["peak_memory_mb"] > 0
    evals = [m for m in read_jsonl(run / "metrics.jsonl") if m["type"] == "eval"]
    assert evals[-1]["domain_ppl"] < evals[0]["domain_ppl"]
    assert (run / "adapter" / "adapter_model.safetensors").exists()


def test_chunked_loss_under_bf16_autocast_matches_and_saves_memory():
    from transformers.loss.loss_utils import ForCausalLMLoss

    from workbench.training.loss import chunked_causal_lm_loss

    torch.manual_seed(0)
    vocab, dim, batch, seq = 32_000, 512, 4, 1024
    weight = torch.randn(vocab, dim, device="cuda") * 0.02
    labels = torch.randint(0, vocab, (batch, seq), device="cuda")
    labels[3, 600:] = -100
    h = torch.randn(batch, seq, dim, device="cuda")
    peaks, losses, grads = [], [], []
    for fused in (True, False):
        x = h.clone().requires_grad_(True)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            if fused:
                loss = chunked_causal_lm_loss(x, weight, labels, chunk_elements=2**23)
            else:
                loss = ForCausalLMLoss(x @ weight.t(), labels, vocab)
        loss.backward()
        torch.cuda.synchronize()
        peaks.append(torch.cuda.max_memory_allocated() - start)
        losses.append(loss.item())
        grads.append(x.grad.float())
    assert losses[0] == pytest.approx(losses[1], rel=1e-2)
    assert torch.linalg.norm(grads[0] - grads[1]) / torch.linalg.norm(grads[1]) < 2e-2  # bf16 operands
    assert peaks[0] < peaks[1] / 4  # the reference holds batch x seq x vocab logits several times over


def test_evaluation_on_the_gpu_matches_the_cpu(tiny_model, sample_dir):
    from workbench.documents.texts import read_texts
    from workbench.evaluation.perplexity import score_documents
    from workbench.models.load import load_model

    texts = read_texts(sample_dir / "domain_eval.jsonl")[:4]
    scores = []
    for device in ("cpu", "cuda"):
        model, tokenizer, _ = load_model(str(tiny_model), quant="none", device=device)
        if device == "cuda":
            model = model.float()  # same precision as the CPU: the comparison tests the device path only
        scores.append(score_documents(model, tokenizer, texts, window=128, stride=64, batch_size=4, progress=False))
    assert scores[0].tokens == scores[1].tokens
    assert scores[1].token_ppl == pytest.approx(scores[0].token_ppl, rel=1e-3)


def test_chunked_loss_outside_autocast_uses_the_compute_dtype():
    """The Trainer autocasts inside the model's forward only: the loss sees fp32 hidden states and a
    bf16 (or fp32) head, and must run the products in the run's compute dtype itself."""
    from transformers.loss.loss_utils import ForCausalLMLoss

    from workbench.training.loss import chunked_causal_lm_loss

    torch.manual_seed(0)
    weight = (torch.randn(1000, 64, device="cuda") * 0.05).to(torch.bfloat16)
    labels = torch.randint(0, 1000, (2, 128), device="cuda")
    h = torch.randn(2, 128, 64, device="cuda", requires_grad=True)
    loss = chunked_causal_lm_loss(h, weight, labels, compute_dtype=torch.bfloat16, chunk_elements=50_000)
    loss.backward()
    ref = ForCausalLMLoss(h.detach().to(torch.bfloat16) @ weight.t(), labels, 1000)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-2)
    assert h.grad.dtype == torch.float32 and torch.isfinite(h.grad).all()
