"""Continued pretraining: configs and presets, packing, replay mixing, the QLoRA trainer, plans.

The public modules are listed in ``__all__``; the others (callbacks, hardware,
hf_trainer, lora, loss, mixing, schedule) are the trainer's parts. Nothing is imported here, so
``import workbench.training`` pulls no torch.
"""

__all__ = ["config", "curriculum", "data", "defaults", "embeddings", "export", "export_axolotl", "fsdp", "heldout", "knowledge",
           "measured", "packing", "plan", "plots", "trainer"]
