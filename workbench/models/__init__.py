"""Models: the registry of names, offline provisioning, spec resolution and loading.

``resolve_model(spec)`` turns a registry name, a local folder, a ``.gguf`` file or a Hub id
into a local safetensors folder; ``load_model(spec, quant=...)`` loads it (4-bit NF4 or full).
The public modules and names are listed in ``__all__``; only the registry (plain data) is imported
here, so ``import workbench.models`` pulls no torch.
"""

from workbench.models.registry import REGISTRY, RegistryEntry

__all__ = ["REGISTRY", "RegistryEntry", "architectures", "fetch", "heads", "load", "registry", "runtime", "tiny"]
