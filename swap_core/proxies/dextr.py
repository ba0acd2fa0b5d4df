"""Dextr (Asthana, Conrad, Ortmanns & Belagiannis, "Dextr: Zero-Shot Neural Architecture Search
with Singular Value Decomposition and Extrinsic Curvature", TMLR 2025; official code:
github.com/rohanasthana/Dextr — `NASBench201/correlation/NAS_Bench_201.py` (the script behind the
paper's NAS-Bench-201 correlations) and the `dextr` measure in
`NASLib/naslib/predictors/pruners/measures/dextr.py` and
`NASBench201/correlation/foresight/pruners/measures/dextr.py`, with the curvature of
`.../dextr_utils/no_free_lunch_architectures/length.py`).

Two label-free terms, combined like a harmonic mean:

    S = log(1 + Σ_calls σ_min(F) / σ_max(F))      (inverse condition numbers of feature maps)
    K = log(1 + κ)                                  (extrinsic curvature of the output)
    dextr = S·K / (S + K)

F is one sample's output of a module call, read as the (C, H·W) matrix of its C channels at H·W
positions; σ_min / σ_max are its smallest and largest singular values. κ is the extrinsic
curvature of the network's output along a circle through input space: with U = [u₀ u₁] a random
orthonormal pair of input directions (left singular vectors of a Gaussian (C·H·W)×2 matrix) and
x(θ) = u₀ cos θ + u₁ sin θ, at θ = 0, over 10 output coordinates drawn at random (with
replacement), v = d f/dθ and a = d² f/dθ² (10-vectors) give

    κ = sqrt(|v|²·|a|² − (v·a)²) / |v|³.

As in the official code:
- every module is hooked (`named_modules()`: the network itself and every container included),
  so a feature map that several nested modules return counts once per module; the hook reads
  `output[0]`, the first sample, reshaped to (C, −1); a per-sample vector (F,) becomes an F×1
  matrix (one singular value: ratio 1, or 0 if it is all zeros);
- a ratio that is NaN (0/0: an all-zero map, e.g. a `none` op) or infinite counts 0;
- the feature pass runs the whole batch handed over and reads its first sample: the
  NAS-Bench-201 script's loader has batch size 1 (one real image; the default here), the NASLib
  measure gets NASLib's batch of 32 for NAS-Bench-101/301 and TransNAS-Bench-101 (BatchNorm's
  batch statistics then mix the other samples into the first one's map);
- default PyTorch initialisation (`init_w_type`/`init_b_type` "none"), training mode for both
  passes (with one image BatchNorm normalises it with its own spatial statistics), the feature
  pass first and the curvature pass second, the curve sampled at a single point
  (`size_curve[0] = 1`, so θ = linspace(0, 2π, 1) = 0) and run as a batch of one;
- when the curvature cannot be computed (the official code catches the exception: here an
  output with no path from the input, or a BatchNorm that sees one value per channel — a 1×1
  map — in the batch-of-one curve pass) or is NaN (an output that does not move along the curve:
  v = 0), and when S·K/(S + K) is NaN or infinite, the score is S alone — the official fallback.
- In the feature pass, a BatchNorm that sees one value per channel (a 1×1 map on a batch of one,
  as in TransNAS-Bench-101's networks) makes the official code fail (its catch-all returns the
  sentinel 12345); here that raises ProxyError asking for a batch of at least 2.

Deliberate differences and choices:
- Curve resolution: the official `dextr` measure (NASLib and foresight copies) draws the curve
  at the input's own shape; the NAS-Bench-201 correlation script hard-codes 64×64 images
  (`size_curve=(1, 3, 64, 64)`) whatever the dataset. The default here is the input's shape;
  `curve_size=64` reproduces the script.
- Random numbers (the curve's Gaussian matrix, the 10 output coordinates) come from the proxy's
  generator; the official code uses torch's and NumPy's global generators.
- Singular values and κ are computed in float64 from the network's float32 values; the
  official code works in float32. |v|²|a|² − (v·a)² (≥ 0 by Cauchy–Schwarz) is clamped at 0
  so that rounding cannot make the square root NaN.
- Outputs that are not a tensor (a tuple) or have one value per sample (N,) are skipped (the
  official hook reads a tuple's first element as a whole batch, and fails on (N,)); feature
  maps with NaN or infinite values raise ProxyError instead of silently counting 0.
- The network's BatchNorm statistics and gradients are restored afterwards.

Because every module is hooked, S depends on how the network nests its modules. Our
NAS-Bench-201 network computes the same feature maps as the official script's network
(Abdelfattah et al.'s `nasbench2`) except that the convs inside its cells have no bias (there
`bias=not affine` with `affine=False` gives them one: their outputs differ by a per-channel
constant, the BatchNorm outputs after them are the same), and its `ReLUConvBN` and
stem are one `Sequential` each (a BatchNorm output counts twice, three times there), its cells sit
in a `ModuleList` (not called, so not counted; the official `nn.Sequential` of five cells adds
one count per stage), and its head has no `top` module (one count of 1 fewer).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from ..patterns import train_mode
from ._shared import preserved_state
from .registry import ProxyError, proxy

CURVE_COORDINATES = 10  # output coordinates the official curvature samples
_SINGLE_VALUE = "Expected more than 1 value per channel when training"  # BatchNorm on one value


def inverse_condition(feature: torch.Tensor) -> float:
    """σ_min / σ_max of a (rows, cols) matrix in float64; 0 where that is NaN or infinite."""
    s = torch.linalg.svdvals(feature.to(torch.float64))
    ratio = float(s.min() / s.max())
    return ratio if math.isfinite(ratio) else 0.0


def _first_sample(output: Any) -> torch.Tensor | None:
    if not isinstance(output, torch.Tensor) or output.dim() < 2:
        return None
    first = output[0].detach()
    return first.reshape(first.shape[0], -1)


def svd_term(model: nn.Module, images: torch.Tensor) -> tuple[float, int]:
    """Σ over every module call of σ_min/σ_max of its first-sample output (C, −1), the whole batch
    run in training mode, and the number of calls read."""
    ratios: list[float] = []

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        feature = _first_sample(output)
        if feature is None:
            return
        if not torch.isfinite(feature).all():
            raise ProxyError("Dextr is not defined for this network: a module's output is NaN or "
                             "infinite (the network overflows)")
        ratios.append(inverse_condition(feature))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad(), train_mode(model):
            model(images)
    except ValueError as error:
        if _SINGLE_VALUE not in str(error):
            raise
        raise ProxyError(f"Dextr's feature pass runs BatchNorm in training mode, and a BatchNorm of this "
                         f"network sees one value per channel on a batch of {len(images)} (a 1x1 map): "
                         "give a batch of at least 2") from error
    finally:
        for handle in handles:
            handle.remove()
    return sum(ratios), len(ratios)


def extrinsic_curvature(model: nn.Module, shape: tuple[int, int, int], rng: torch.Generator, *,
                        coordinates: int = CURVE_COORDINATES, dtype: torch.dtype = torch.float32,
                        device: torch.device | str = "cpu") -> float | None:
    """κ of the output at θ = 0 on the great circle x(θ) = u₀ cos θ + u₁ sin θ through input space
    of shape (C, H, W), training mode; None when it cannot be computed (the output does not depend
    on the input) and NaN when v = 0, as the official code would find."""
    size = math.prod(shape)
    gaussian = torch.randn(size, 2, generator=rng, dtype=dtype)
    basis = torch.linalg.svd(gaussian, full_matrices=False).U.to(device)
    theta = torch.zeros(1, dtype=dtype, device=device, requires_grad=True)
    with preserved_state(model), train_mode(model), torch.enable_grad():
        point = (basis @ torch.stack([torch.cos(theta), torch.sin(theta)])).T.reshape(1, *shape)
        try:
            output = model(point)
        except ValueError as error:
            if _SINGLE_VALUE not in str(error):
                raise
            return None  # the official code catches this and falls back to the SVD term
        if not isinstance(output, torch.Tensor):
            raise ProxyError(f"Dextr needs a network whose output is one tensor; this one returns "
                             f"{type(output).__name__}")
        output = output.reshape(output.shape[0], -1)
        if not output.requires_grad:
            return None
        picks = torch.randint(0, output.shape[1], (coordinates,), generator=rng).tolist()
        velocity, acceleration = [], []
        for index in picks:
            (v,) = torch.autograd.grad(output[:, index].sum(), theta, create_graph=True, allow_unused=True)
            if v is None:
                return None
            if not v.requires_grad:
                return None  # the official second autograd.grad raises here
            (a,) = torch.autograd.grad(v.sum(), theta, create_graph=True, allow_unused=True)
            if a is None:
                return None
            velocity.append(v.detach().to(torch.float64))
            acceleration.append(a.detach().to(torch.float64))
    v = torch.cat(velocity)
    a = torch.cat(acceleration)
    vv, aa, va = v @ v, a @ a, v @ a
    return float(torch.clamp(vv * aa - va ** 2, min=0).sqrt() * vv ** -1.5)


def combine(svd_sum: float, kappa: float | None) -> float:
    """log(1+S)·log(1+κ) / (log(1+S) + log(1+κ)), or log(1+S) where κ or the combination is
    undefined (the official fallback)."""
    s = math.log1p(svd_sum)
    if kappa is None or not math.isfinite(kappa):
        return s
    k = math.log1p(kappa)
    value = s * k / (s + k) if s + k != 0 else math.nan
    return value if math.isfinite(value) else s


def dextr_score(model: nn.Module, inputs: torch.Tensor, *, curve_size: int | None = None,
                generator: torch.Generator | None = None) -> float:
    """Dextr of `model`: feature pass on the batch `inputs` (its first sample read), curvature on a
    batch of one at the first sample's shape or `curve_size` (see the module docstring)."""
    if inputs.dim() != 4:
        raise ProxyError(f"Dextr needs image batches (N, C, H, W); got a batch of shape {tuple(inputs.shape)}")
    rng = generator if generator is not None else torch.Generator().manual_seed(0)
    image = inputs[:1]
    svd_sum, calls = svd_term(model, inputs)
    if calls == 0:
        raise ProxyError("Dextr found no module output with a per-sample feature map to read")
    height, width = (curve_size, curve_size) if curve_size else tuple(image.shape[2:])
    kappa = extrinsic_curvature(model, (image.shape[1], height, width), rng,
                                dtype=image.dtype if image.is_floating_point() else torch.float32,
                                device=image.device)
    return combine(svd_sum, kappa)


@proxy(
    "dextr", display_name="Dextr",
    paper="Asthana et al., Dextr: Zero-Shot Neural Architecture Search with Singular Value "
          "Decomposition and Extrinsic Curvature (TMLR 2025)", year=2025,
    higher_is_better=True, needs_grad=True, needs_labels=False, default_batch_size=1,
    description="Harmonic-mean-like combination of log(1 + Σ σ_min/σ_max over every module's "
    "feature map of one image) and log(1 + the extrinsic curvature of the output along a random "
    "circle through input space). Reads the first sample's maps (default batch 1, as the official "
    "NAS-Bench-201 script). Option: curve_size (default: the "
    "input's own size; 64 as the official NAS-Bench-201 script).",
)
def dextr(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
          curve_size: int | None = None, generator: torch.Generator | None = None) -> float:
    return dextr_score(model, inputs, curve_size=curve_size, generator=generator)


__all__ = ["CURVE_COORDINATES", "combine", "dextr", "dextr_score", "extrinsic_curvature",
           "inverse_condition", "svd_term"]
