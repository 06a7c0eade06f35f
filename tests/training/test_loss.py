"""The chunked causal-LM loss equals transformers' own loss and gradients, and applies only where it may."""

import pytest
import torch
from torch import nn

from workbench.models.heads import fused_head, hidden_states_as_logits
from workbench.training.loss import chunked_causal_lm_loss


def _reference(hidden, weight, labels, num_items_in_batch=None):
    from transformers.loss.loss_utils import ForCausalLMLoss

    return ForCausalLMLoss(hidden @ weight.t(), labels, weight.shape[0], num_items_in_batch=num_items_in_batch)


@pytest.mark.parametrize("chunk_elements", [7 * 50, 10**9])  # many chunks of 7 rows / one chunk
@pytest.mark.parametrize("num_items", [None, 37])
def test_loss_and_gradient_equal_the_transformers_loss(chunk_elements, num_items):
    torch.manual_seed(0)
    vocab, dim = 50, 16
    weight = torch.randn(vocab, dim, dtype=torch.float64)
    labels = torch.randint(0, vocab, (3, 20))
    labels[2, 12:] = -100  # padding
    labels[0, 5] = -100
    h1 = torch.randn(3, 20, dim, dtype=torch.float64, requires_grad=True)
    h2 = h1.detach().clone().requires_grad_(True)
    ours = chunked_causal_lm_loss(h1, weight, labels, num_items, chunk_elements=chunk_elements)
    ref = _reference(h2, weight, labels, num_items)
    (ours * 3.0).backward()  # a non-unit upstream gradient
    (ref * 3.0).backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-6)  # both reduce in fp32
    assert torch.allclose(h1.grad, h2.grad, rtol=1e-5, atol=1e-7)
    assert h1.grad[2, 11:].abs().sum() == 0  # positions predicting padding get no gradient


def test_no_targets_gives_zero_loss_and_gradient():
    h = torch.randn(1, 4, 8, requires_grad=True)
    loss = chunked_causal_lm_loss(h, torch.randn(10, 8), torch.full((1, 4), -100))
    loss.backward()
    assert loss.item() == 0.0 and h.grad.abs().sum() == 0


def _lora_model(tiny_model, **lora_kw):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    model.config.use_cache = False
    return get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0, **lora_kw))


def test_fused_path_matches_the_model_loss_on_a_lora_model(tiny_model):
    """Through peft, with packed position ids: same loss and same LoRA gradients as model(labels=...)."""
    torch.manual_seed(1)
    model = _lora_model(tiny_model)
    head = fused_head(model)
    assert head is model.get_base_model().lm_head
    ids = torch.randint(3, 200, (2, 32))
    position_ids = torch.cat([torch.arange(20), torch.arange(12)]).repeat(2, 1)  # two packed documents per row
    labels = ids.clone()
    labels[1, 28:] = -100
    ref = model(input_ids=ids, position_ids=position_ids, labels=labels).loss
    ref.backward()
    ref_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    with hidden_states_as_logits(model):
        hidden = model(input_ids=ids, position_ids=position_ids).logits
    assert hidden.shape == (2, 32, model.config.hidden_size)
    assert type(model.get_base_model().lm_head) is nn.Linear  # restored after the block
    ours = chunked_causal_lm_loss(hidden, head.weight, labels, chunk_elements=8 * head.weight.shape[0])
    ours.backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)
    for name, grad in ref_grads.items():
        got = dict(model.named_parameters())[name].grad
        assert torch.allclose(got, grad, rtol=1e-4, atol=1e-6), name


def test_fused_path_is_refused_where_the_head_trains(tiny_model):
    assert fused_head(_lora_model(tiny_model, modules_to_save=["lm_head"])) is None
    assert fused_head(_lora_model(tiny_model, trainable_token_indices={"lm_head": [5, 6]})) is None
    model = _lora_model(tiny_model)
    model.get_base_model().config.model_type = "gemma2"  # soft-capped logits: not the plain head
    assert fused_head(model) is None


def test_training_with_and_without_the_chunked_loss_gives_the_same_adapter(tiny_model, tmp_path, workspace):
    from safetensors.torch import load_file

    from workbench.training.config import TrainConfig
    from workbench.workflows import train

    adapters = []
    for chunked in (True, False):
        config = TrainConfig(model=str(tiny_model), quant="none", max_tokens=1024, block_size=64, micro_batch_size=4,
                             grad_accum=2, eval_every=0.0, learning_rate=5e-3, chunked_loss=chunked,
                             out=str(tmp_path / f"run-{chunked}"))
        run = train(config, workspace, progress=False)
        adapters.append(load_file(run / "adapter" / "adapter_model.safetensors"))
    assert adapters[0].keys() == adapters[1].keys()
    moved = 0
    for key in adapters[0]:
        a, b = adapters[0][key].float(), adapters[1][key].float()
        if torch.cuda.is_available():  # bf16 products: the same training up to bf16 rounding
            assert torch.linalg.norm(a - b) <= 2e-2 * torch.linalg.norm(b), key
        else:
            assert torch.allclose(a, b, rtol=1e-3, atol=1e-5), key
        moved += int(a.abs().sum() > 0)
    assert moved == len(adapters[0])


def test_fp16_products_do_not_underflow_the_gradient():
    """With fp16 vocabulary products (GPUs without bf16) the per-token gradients (softmax - onehot)
    / n_tokens fall below fp16's normal range; they are scaled only in backward, in fp32."""
    from transformers.loss.loss_utils import ForCausalLMLoss

    torch.manual_seed(0)
    vocab, dim = 4000, 32
    weight = torch.randn(vocab, dim) * 0.02
    labels = torch.randint(0, vocab, (8, 512))
    h = torch.randn(8, 512, dim, requires_grad=True)
    chunked_causal_lm_loss(h, weight.half(), labels, compute_dtype=torch.float16, chunk_elements=2**20).backward()
    ref_h = h.detach().clone().requires_grad_(True)
    ForCausalLMLoss(ref_h @ weight.t(), labels, vocab).backward()
    assert torch.linalg.norm(h.grad - ref_h.grad) / torch.linalg.norm(ref_h.grad) < 2e-3  # 2e-2 when scaled in fp16


def test_trainer_uses_the_model_loss_under_data_parallel(tiny_model, tmp_path):
    """Several GPUs in one process (nn.DataParallel, n_gpu > 1): the Trainer reshapes
    num_items_in_batch per device and scales by n_gpu; the trainer keeps the model's own loss there."""
    from transformers import TrainingArguments

    from workbench.training.hf_trainer import grouped_trainer_class

    model = _lora_model(tiny_model)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=2)
    ids = torch.randint(3, 200, (2, 16))
    batch = {"input_ids": ids, "labels": ids.clone()}
    losses = []
    for chunked in (True, False):
        trainer = grouped_trainer_class()(model=model, args=args, chunked_loss=chunked, train_dataset=[1])
        trainer.create_optimizer()
        trainer.args._n_gpu = 2  # what TrainingArguments reports on a 2-GPU machine without torchrun
        n_items = trainer._get_num_items_in_batch([batch], torch.device("cpu"))
        losses.append(trainer.training_step(model, dict(batch), n_items).item())
        model.zero_grad()
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)


def test_the_trainer_takes_the_chunked_path(tiny_model, tmp_path, workspace, monkeypatch):
    import workbench.training.loss as loss_module
    from workbench.training.config import TrainConfig
    from workbench.workflows import train

    calls = []
    original = loss_module.chunked_causal_lm_loss
    monkeypatch.setattr(loss_module, "chunked_causal_lm_loss", lambda *a, **k: calls.append(1) or original(*a, **k))
    config = TrainConfig(model=str(tiny_model), quant="none", max_tokens=512, block_size=64, micro_batch_size=4,
                         eval_every=0.0, out=str(tmp_path / "run"))
    train(config, workspace, progress=False)
    assert len(calls) == 2  # one per micro-batch
    calls.clear()
    train(TrainConfig(**{**config.__dict__, "chunked_loss": False, "out": str(tmp_path / "run2")}), workspace, progress=False)
    assert calls == []
