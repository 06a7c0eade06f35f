"""Continued pretraining: configs and presets, packing, replay mixing, the QLoRA trainer, plans."""
