import numpy as np
import pytest

from workbench.training.mixing import block_schedule
from workbench.training.packing import IGNORE_INDEX, pack_documents


def test_packing_separates_documents_with_eos_and_resets_positions():
    docs = [[5, 6, 7], [8, 9, 10, 11, 12], [13]]
    packed = pack_documents(docs, block_size=4, eos_id=0)
    flat = packed.input_ids.reshape(-1)
    assert flat[: 3 + 1 + 5 + 1 + 1 + 1].tolist() == [5, 6, 7, 0, 8, 9, 10, 11, 12, 0, 13, 0]
    # every row starts a position run at 0; document starts restart at 0 inside a row
    assert (packed.position_ids[:, 0] == 0).all()
    assert packed.position_ids[2].tolist() == [0, 1, 0, 1]
    assert packed.real_tokens == 12 and packed.efficiency == 1.0


def test_packing_pads_only_the_last_block_and_masks_it():
    packed = pack_documents([[1, 2, 3, 4, 5]], block_size=4, eos_id=0, pad_id=99)
    assert packed.n_blocks == 2
    assert packed.input_ids[1].tolist() == [5, 0, 99, 99]
    assert packed.labels[1].tolist() == [5, 0, IGNORE_INDEX, IGNORE_INDEX]
    assert packed.efficiency == pytest.approx(6 / 8)


def test_packed_positions_give_block_diagonal_attention(tiny_model):
    """Tokens of document B must not see document A: compare with B scored alone."""
    import torch

    from workbench.models.load import load_model

    model, tok, _ = load_model(tiny_model, quant="none", device="cpu")
    a, b = list(range(10, 30)), list(range(40, 52))
    packed = pack_documents([a, b], block_size=len(a) + len(b) + 2, eos_id=tok.eos_token_id)
    with torch.no_grad():
        logits = model(
            input_ids=torch.tensor(packed.input_ids), position_ids=torch.tensor(packed.position_ids), use_cache=False
        ).logits[0, len(a) + 1 : len(a) + 1 + len(b)]
        alone = model(input_ids=torch.tensor([b])).logits[0]
    assert torch.allclose(logits, alone, atol=1e-4)


def test_schedule_is_deterministic_and_mixes_replay_at_ratio():
    a = block_schedule(50, 200, seed=3, n_replay=20, replay_ratio=0.25)
    b = block_schedule(50, 200, seed=3, n_replay=20, replay_ratio=0.25)
    assert (a == b).all()
    replay = a >= 50
    assert replay.sum() == 50  # exactly 25% of 200
    # evenly spread: every window of 8 slots holds 2 replay blocks
    assert all(replay[i : i + 8].sum() == 2 for i in range(0, 200, 8))
    # domain blocks cycle through complete epochs before repeating
    domain = a[~replay]
    assert sorted(domain[:50].tolist()) == list(range(50))
    assert not (block_schedule(50, 200, seed=4, n_replay=20, replay_ratio=0.25) == a).all()


def test_schedule_without_replay():
    s = block_schedule(7, 10, seed=0)
    assert (s < 7).all() and len(np.unique(s[:7])) == 7
