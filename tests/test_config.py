from dataclasses import dataclass, field

import pytest

from workbench import seed_everything
from workbench.config import apply_overrides, from_dict, load_config, parse_overrides, to_dict
from workbench.errors import WorkbenchError
from workbench.training.config import TrainConfig


def test_yaml_then_overrides_then_roundtrip(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("max_tokens: 1000\nlora:\n  r: 4\n")
    cfg = load_config(TrainConfig, path, ["lora.alpha=8", "learning_rate=1e-3"], quant="none")
    assert cfg.max_tokens == 1000 and cfg.lora.r == 4 and cfg.lora.alpha == 8
    assert cfg.learning_rate == pytest.approx(1e-3) and cfg.quant == "none"
    assert from_dict(TrainConfig, to_dict(cfg)) == cfg


def test_unknown_key_names_valid_keys():
    with pytest.raises(WorkbenchError) as err:
        apply_overrides(TrainConfig(), parse_overrides(["lora.rank=8"]))
    assert "lora.rank" in str(err.value) and "r" in err.value.fix
    with pytest.raises(WorkbenchError, match="unknown config key 'blocksize'"):
        from_dict(TrainConfig, {"blocksize": 5})


def test_type_and_literal_checks():
    with pytest.raises(WorkbenchError, match="quant"):
        from_dict(TrainConfig, {"quant": "int3"})
    with pytest.raises(WorkbenchError, match="max_tokens"):
        from_dict(TrainConfig, {"max_tokens": "lots"})
    with pytest.raises(WorkbenchError, match="replay_ratio"):
        TrainConfig(replay_ratio=1.5)


def test_override_without_equals_is_an_error():
    with pytest.raises(WorkbenchError, match="key=value"):
        parse_overrides(["lora.r"])


def test_seed_everything_repeats_random_streams():
    import random

    import numpy as np
    import torch

    seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


@dataclass
class _Inner:
    x: int = 1


@dataclass
class _Outer:
    inner: _Inner = field(default_factory=_Inner)
    name: str = "a"


def test_nested_from_dict():
    assert from_dict(_Outer, {"inner": {"x": "3"}}).inner.x == 3
