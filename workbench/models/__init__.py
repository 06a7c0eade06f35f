"""Models: the registry of names, offline provisioning, spec resolution and loading.

``resolve_model(spec)`` turns a registry name, a local folder, a ``.gguf`` file or a Hub id
into a local safetensors folder; ``load_model(spec, quant=...)`` loads it (4-bit NF4 or full).
"""

from workbench.models.registry import REGISTRY, RegistryEntry  # noqa: F401
