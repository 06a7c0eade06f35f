"""Sharded training: the model's weights, gradients and optimizer state split over the processes
with FSDP2 (``torch.distributed.fsdp.fully_shard``), through accelerate, the engine the transformers
Trainer runs on.

A run shards when its config says ``sharding: fsdp`` (or ``fsdp_offload``, which also keeps the
parameters and optimizer state in CPU memory between uses) and it is started as several processes
(``workbench train --gpus N``, torchrun, or ``accelerate launch`` with the config written into the run
folder). The settings follow peft's FSDP guide for QLoRA: the 4-bit weights are stored in the compute
dtype (``bnb_4bit_quant_storage``) so FSDP can shard them, decoder layers are wrapped one by one,
the model is loaded once and broadcast (``cpu_ram_efficient_loading``), and checkpoints are saved as
shards (each rank writes its own) so a resume restores the LoRA weights and AdamW moments exactly.

Only rank 0 writes the run's status, metrics and run card; evaluation forwards run on every rank
(each holds a shard of the weights) and rank 0 records them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from workbench.errors import WorkbenchError

SHARDING = ("none", "fsdp", "fsdp_offload")
ACCELERATE_CONFIG = "accelerate_config.yaml"  # written into the run folder of a sharded run


def is_sharded(sharding: str) -> bool:
    return sharding != "none"


def fsdp_config(sharding: str) -> dict:
    """``TrainingArguments.fsdp_config`` for a sharded run (transformers passes it to accelerate's
    ``FullyShardedDataParallelPlugin``). ``{}`` for ``sharding: none``."""
    if not is_sharded(sharding):
        return {}
    return {
        "version": 2,  # FSDP2: per-parameter sharding (DTensor), which shards floating-point 4-bit storage
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",  # one unit per decoder layer (the model's _no_split_modules)
        "reshard_after_forward": True,  # full shard: a layer's weights are gathered only while it runs
        "cpu_ram_efficient_loading": True,  # rank 0's weights are broadcast into the shards (skipped for 4-bit)
        "state_dict_type": "SHARDED_STATE_DICT",  # checkpoints: each rank writes its shard (no full gather)
        "cpu_offload": sharding == "fsdp_offload",
    }


def quant_storage_dtype(sharding: str, device: str):
    """The dtype 4-bit weights are packed into: the compute dtype for a sharded run (FSDP shards only
    floating-point storage), None (bitsandbytes' uint8) otherwise."""
    if not is_sharded(sharding):
        return None
    from workbench.models.load import compute_dtype

    return compute_dtype(device)


def enable_fsdp_on_cpu(trainer) -> None:
    """Turn FSDP on for CPU ranks (gloo), which accelerate leaves as plain data parallel: the same
    ``fully_shard`` wrapping, sharded checkpoints and resume as on GPUs, so they are tested on the CPU."""
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    state = trainer.accelerator.state
    if trainer.args.fsdp_plugin_args is None or state.distributed_type != DistributedType.MULTI_CPU:
        return
    state.distributed_type = DistributedType.FSDP
    state.fsdp_plugin = FullyShardedDataParallelPlugin(**trainer.args.fsdp_plugin_args)
    trainer.is_fsdp_enabled = True


def allocate_unsharded(model) -> None:
    """Run one tiny forward outside inference mode on a sharded model, on every rank. FSDP2 allocates the
    buffers it gathers weights into at the first forward and reuses them; allocated under the scorer's
    ``torch.inference_mode`` they could not be written by the training forwards that follow."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        model(input_ids=torch.zeros((1, 2), dtype=torch.long, device=device))


def full_trainable_state(model) -> dict:
    """{name: full tensor on the CPU} of the trainable (adapter) parameters. On a sharded model every
    rank must call it (each parameter is gathered from all shards); the names are the model's own."""
    state = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            tensor = param.full_tensor() if hasattr(param, "full_tensor") else param
            state[name] = tensor.detach().cpu()
    return state


def state_hash(state: dict) -> str:
    """sha256 over a {name: tensor} state in name order (equal on every rank of one run)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].float().numpy().tobytes())
    return digest.hexdigest()


def save_adapter(model, folder: Path, is_main: bool, state: dict | None = None) -> None:
    """Save a sharded model's adapter as a plain peft folder: every rank gathers (unless ``state``, the
    gathered :func:`full_trainable_state`, is given), rank 0 writes."""
    state = full_trainable_state(model) if state is None else state
    if is_main:
        model.save_pretrained(folder, state_dict=state, save_embedding_layers=False)


# -- launching ------------------------------------------------------------------------------------

def accelerate_config(gpus: int, sharding: str) -> dict:
    """The ``accelerate launch --config_file`` equivalent of a sharded run on ``gpus`` processes
    (written into the run folder, so the run can be launched by accelerate as well as by the workbench)."""
    fsdp = fsdp_config(sharding)
    return {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": "FSDP" if fsdp else ("MULTI_GPU" if gpus > 1 else "NO"),
        "num_machines": 1,
        "num_processes": gpus,
        "machine_rank": 0,
        "main_training_function": "main",
        "mixed_precision": "bf16",
        "use_cpu": False,
        **({"fsdp_config": {
            "fsdp_version": fsdp["version"],
            "fsdp_auto_wrap_policy": fsdp["auto_wrap_policy"],
            "fsdp_reshard_after_forward": fsdp["reshard_after_forward"],
            "fsdp_cpu_ram_efficient_loading": fsdp["cpu_ram_efficient_loading"],
            "fsdp_state_dict_type": fsdp["state_dict_type"],
            "fsdp_offload_params": fsdp["cpu_offload"],
        }} if fsdp else {}),
    }


def write_accelerate_config(run_dir: Path, gpus: int, sharding: str) -> Path:
    """Write ``accelerate_config.yaml`` into ``run_dir``; returns its path."""
    import yaml

    from workbench.io import atomic_write_text

    path = Path(run_dir) / ACCELERATE_CONFIG
    atomic_write_text(path, yaml.safe_dump(accelerate_config(gpus, sharding), sort_keys=False))
    return path


def launch_command(gpus: int, train_args: list[str], port: int | None = None) -> list[str]:
    """The command that runs ``workbench train TRAIN_ARGS`` as ``gpus`` processes (torchrun, which ships
    with torch; one process per GPU). One GPU without sharding needs no launcher."""
    if gpus < 1:
        raise WorkbenchError(f"{{field}} is {gpus}.", "use 1 or more processes (one per GPU).", field="gpus")
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        raise WorkbenchError("torchrun is not installed beside this Python.", "install torch (it ships torchrun).")
    extra = ["--master_port", str(port)] if port else []
    return [torchrun, "--standalone" if not port else "--nnodes=1", "--nproc_per_node", str(gpus), *extra,
            "-m", "workbench.cli", "train", *train_args]


def visible_gpus() -> int:
    """CUDA devices this process can use (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


__all__ = ["SHARDING", "ACCELERATE_CONFIG", "is_sharded", "fsdp_config", "quant_storage_dtype", "enable_fsdp_on_cpu", "allocate_unsharded",
           "full_trainable_state", "state_hash", "save_adapter", "accelerate_config", "write_accelerate_config",
           "launch_command", "visible_gpus"]
