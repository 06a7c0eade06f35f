"""Texts in a model's own representation space: mean-pooled hidden states and the Fréchet distance between sets.

The Fréchet distance between two sets of vectors fits a Gaussian to each (mean, covariance) and measures
``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (Heusel et al. 2017, the FID; here on a language
model's last hidden state averaged over a document's tokens). Its size depends on the number of documents
and the model, so it is read against a reference: the distance of a real sample of the same size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

_EPS = 1e-6  # added to the covariances' diagonals when their product has no finite square root


def gaussian_frechet(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
    """The Fréchet (2-Wasserstein squared) distance between N(mu_a, sigma_a) and N(mu_b, sigma_b)."""
    mu_a, mu_b = np.atleast_1d(np.asarray(mu_a, dtype=np.float64)), np.atleast_1d(np.asarray(mu_b, dtype=np.float64))
    sigma_a, sigma_b = np.atleast_2d(np.asarray(sigma_a, dtype=np.float64)), np.atleast_2d(np.asarray(sigma_b, dtype=np.float64))
    covmean = scipy.linalg.sqrtm(sigma_a @ sigma_b)
    if not np.isfinite(covmean).all():  # singular product (fewer documents than dimensions): regularise, as FID does
        offset = np.eye(sigma_a.shape[0]) * _EPS
        covmean = scipy.linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    covmean = np.real(covmean)  # rounding leaves a tiny imaginary part
    diff = mu_a - mu_b
    return float(max(0.0, diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * np.trace(covmean)))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between the Gaussians fitted to the rows of ``a`` and of ``b`` (each n x d, n >= 2)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least two vectors on each side")
    return gaussian_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def mean_hidden_states(model, tokenizer, texts: Sequence[str], max_tokens: int = 256, batch_size: int = 8) -> np.ndarray:
    """One vector per text: the model's last hidden state averaged over the text's first ``max_tokens`` tokens.

    Returns:
        An ``(len(texts), hidden size)`` float64 array.
    """
    import torch  # heavy: only when a model is scored

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rows: list[np.ndarray] = []
    for start in range(0, len(texts), batch_size):
        encoded = [tokenizer(t, add_special_tokens=False)["input_ids"][:max_tokens] or [pad]
                   for t in texts[start:start + batch_size]]
        width = max(map(len, encoded))
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, seq in enumerate(encoded):  # right padding: positions of real tokens start at 0
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
        with torch.inference_mode():
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
        hidden = out.hidden_states[-1].float()
        weights = mask.to(hidden.device).unsqueeze(-1).float()
        rows.append(((hidden * weights).sum(1) / weights.sum(1)).cpu().double().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0))
