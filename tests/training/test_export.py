import torch

from workbench.io import read_json
from workbench.training.config import TrainConfig
from workbench.training.export import export_run
from workbench.workflows import train


def test_export_adapter_and_merged_model_agree(tiny_model, tmp_path, workspace):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = train(TrainConfig(model=str(tiny_model), max_tokens=1024, block_size=64, micro_batch_size=4, eval_every=0,
                            learning_rate=2e-2, quant="none", out=str(tmp_path / "run")), workspace, progress=False)
    adapter = export_run(run)
    assert (adapter / "adapter_config.json").exists() and read_json(adapter / "workbench_export.json")["kind"] == "export"
    merged = export_run(run, merge=True)
    tok = AutoTokenizer.from_pretrained(merged)
    ids = tok("Digoxin toxicity is more likely with hypokalaemia.", return_tensors="pt")
    with torch.no_grad():
        from_merged = AutoModelForCausalLM.from_pretrained(merged)(**ids).logits
        peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), str(adapter))
        from_adapter = peft(**ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model)(**ids).logits
    assert torch.allclose(from_merged, from_adapter, atol=1e-4)
    assert not torch.allclose(from_merged, base, atol=1e-4)  # the adapter changed something
