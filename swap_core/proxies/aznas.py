"""AZ-NAS's four components (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network
Architecture Search", CVPR 2024; official code: github.com/cvlab-yonsei/AZ-NAS,
NB201/ZeroShotProxy/compute_az_nas_score.py with NB201/custom/tss_model.py and the notebook
NB201/tss_general.ipynb, which reports Spearman ρ 0.913 / Kendall τ 0.741 over all 15,625
NAS-Bench-201 cells on CIFAR-10). The ensemble that assembles them is `az_nas` in
`swap_core.ensembles` (Σ over the components of log(rank / N) across the population).

One forward pass gives the feature maps F_0, ..., F_L of the network's chain of cells (see
"Feature maps" below). With each map F of shape (B, C, H, W) read as B·H·W samples of C
channels, Σ = cov(F) (C × C, centred, divided by B·H·W), λ its eigenvalues and p = λ / Σλ:

    entropy(F)      = Σ_c −p_c · log(p_c + 1e-8)
    az_expressivity = Σ_{l=0..L} entropy(F_l)                                (higher is better)
    az_progressivity= min_{l=1..L} (entropy(F_l) − entropy(F_{l−1}))          (higher is better)

For trainability, for l = L down to 1 a random sign map g_out ∈ {±1}^shape(F_l) (fair coin per
entry) is pulled back through the block, g_in = (∂F_l/∂F_{l−1})ᵀ g_out. When the block halves
the resolution g_in is pixel-unshuffled by s = H_{l−1} / H_l (C·s² channels at F_l's
resolution). With both read as (B·H·W, channels), M = g_inᵀ g_out / (B·H·W) and σ = its largest
singular value:

    t_l             = −σ − 1 / (σ + 1e-6) + 2          (0 at σ = 1, the best: no gradient
                                                         explosion or vanishing)
    az_trainability = mean_{l=1..L} t_l                                      (higher is better)

A block whose g_in equals g_out exactly (an identity block: gradients pass unchanged) gets
t_l = −∞ in the official code, so its trainability is −∞.

    az_complexity   = FLOPs (multiply-accumulates of conv and linear layers for one image, in
                      millions: the `flops` proxy's count)                   (higher is better)

Settings as the official NB201 code: weights re-drawn before scoring as its `init_model(model,
'kaiming_norm_fanin')` (every `nn.Conv2d` and `nn.Linear` weight kaiming-normal, fan-in, ReLU
gain: N(0, 2 / fan_in); their biases 0; affine `nn.BatchNorm2d` / `nn.GroupNorm` weight 1, bias
0; other parameters as given); the network in training mode (BatchNorm normalises with batch
statistics; the notebook calls `network.train()` and never switches to evaluation mode); the input is random
N(0, 1) of the batch's shape, batch 64 (the notebook's `batch_size` from
configs/nas-benchmark/algos/weight-sharing.config; AZ-NAS is not in its `real_input_metrics`, so
`trainloader=None` and `torch.randn` inputs); float32; one draw, no repeats; FLOPs as the
notebook's `api.get_compute_costs('cifar10')['flops']` — `swap_core.netstats.count_flops`
gives exactly those values for the benchmark network (153.27297 for cell 13714, API 153.27;
121.81569 for cell 3558, API 121.82; both count conv and linear layers only, see xautodl's
`get_model_infos`).

Feature maps. The official NAS-Bench-201 network (`TinyNetwork.extract_cell_features`) takes
the stem's output (conv 3×3 + BN, no ReLU) and the output of each of the 17 modules of `cells`
(15 cells and the 2 ResNet reduction blocks): 18 maps, L = 17. Here, for every space, the maps
are the outputs of the network's main chain of cells or blocks, read by forward hooks:
- nb201: `stem` and every module of `cells` (exactly the official 18 maps);
- darts / nb301: `stem` and every cell of `cells` (a cell's concatenated output);
- nb101: `stem` (conv-BN-ReLU) and every cell of `layers` — the parameter-free 2×2 max-pools
  between stacks are not blocks and are skipped, so the pair across a pool is a stride-2 pair
  like NB201's reduction blocks;
- tnb101_micro / tnb101_macro: the encoder's `stem` and every block of every stage of
  `encoder.stages`; only the encoder runs (on the whole input, also for the jigsaw network,
  which runs it on 9 tiles): the task heads and decoders are outside the chain;
- any other network with `stem` + `cells`, `stem` + `layers`, or `encoder.stem` +
  `encoder.stages` is read the same way; anything else raises `ProxyError`.
A stem that is `nn.Identity` (`stem=False`) is left out: its "output" is the input image.

Deliberate differences:
- Random numbers come from the proxy's `generator` (weights first, then the input, then the
  sign maps from the last block backwards, the official order), never torch's global RNG. The
  official sign maps are `torch.bernoulli(0.5)` draws, here too, from the generator.
- The network is scored on a copy, never modified; the official code re-initialises the
  network it is given.
- Singular covariances (option `singular`). A feature map with fewer independent directions
  than channels (B·H·W < C, or channels that are combinations of others, as in pooling- and
  skip-heavy cells) has eigenvalues that are 0 up to rounding; float32 `eigvalsh` returns some
  of them slightly negative, and once p < −1e-8 the official log(p + 1e-8) is NaN, which the
  official code turns into expressivity (and progressivity) −∞. Whether that happens depends
  on rounding (BLAS, device), not on the architecture's quality alone, and it makes the
  components undefined for most small teaching networks and TransNAS-Bench-101's 1×1 stages.
  Default `singular="clamp"`: negative eigenvalues are taken as 0 (they are rounding noise of a
  positive semi-definite matrix), so the entropy is defined; `singular="official"` reproduces
  the official NaN as a `ProxyError`. Both come from the same pass.
- Undefined values raise `ProxyError` instead of becoming −inf (the official code turns NaN
  into −inf): a constant feature map (all eigenvalues 0: p = 0/0), an identity block (t = −∞),
  fewer than 2 feature maps (no progressivity nor trainability), a block without a gradient
  path from its input. The `az_nas` ensemble ranks a missing score below every present one,
  which is where −inf ranked in the official aggregation.
- The whole graph is kept for the pullbacks (`retain_graph=True`); the official frees it as it
  goes. The values are the same.
- A pair whose resolutions are not an integer ratio apart (odd sizes with stride 2) raises
  `ProxyError`, where the official `int(h_in / h_out)` would crash on the matrix product.

All four components come from ONE forward pass and its pullbacks, shared through
`SharedPasses.memo`: scoring them together costs one pass.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..init import _on_cpu, randn
from ._shared import SharedPasses, shared_for
from .registry import ProxyError, proxy
from .size import flops

PAPER = "Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search (CVPR 2024)"
BATCH_SIZE = 64  # the notebook's CIFAR batch (weight-sharing.config)
ENTROPY_EPS = 1e-8  # log(p + 1e-8) in the official entropy
SIGMA_EPS = 1e-6  # 1 / (σ + 1e-6) in the official trainability
SINGULAR = ("clamp", "official")  # how a singular covariance's rounding below 0 is handled
SINGULAR_DEFAULT = "clamp"
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def feature_chain(model: nn.Module) -> tuple[nn.Module, list[tuple[str, nn.Module]]]:
    """(the module to run, [(name, module)] whose outputs are the feature maps), per the rule of
    the module docstring; ProxyError when the network has no such chain."""
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, nn.Module) and hasattr(encoder, "stem") and hasattr(encoder, "stages"):
        runner, prefix = encoder, "encoder."
        blocks = [(f"stages.{i}.{j}", block) for i, stage in enumerate(encoder.stages)
                  for j, block in enumerate(stage if isinstance(stage, nn.Sequential) else [stage])]
    elif hasattr(model, "stem") and isinstance(getattr(model, "cells", None), (nn.ModuleList, nn.Sequential)):
        runner, prefix = model, ""
        blocks = [(f"cells.{i}", cell) for i, cell in enumerate(model.cells)]
    elif hasattr(model, "stem") and isinstance(getattr(model, "layers", None), (nn.ModuleList, nn.Sequential)):
        runner, prefix = model, ""
        blocks = [(f"layers.{i}", layer) for i, layer in enumerate(model.layers) if not isinstance(layer, POOLS)]
    else:
        raise ProxyError(f"AZ-NAS reads the feature maps of the network's chain of cells, but a "
                         f"{type(model).__name__} has none it knows (expected `stem` + `cells`, "
                         "`stem` + `layers`, or `encoder.stem` + `encoder.stages`)")
    stem = runner.stem
    chain = ([] if isinstance(stem, nn.Identity) else [("stem", stem)]) + blocks
    return runner, [(prefix + name, module) for name, module in chain]


def aznas_init_(model: nn.Module, rng: torch.Generator) -> nn.Module:
    """The official `init_model(model, 'kaiming_norm_fanin')`, drawn from `rng`: conv and
    linear weights N(0, 2 / fan_in), biases 0; affine BatchNorm2d / GroupNorm weight 1, bias 0."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                _on_cpu(module.weight, lambda t: nn.init.kaiming_normal_(
                    t, mode="fan_in", nonlinearity="relu", generator=rng))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    return model


def _channels_last(feature: torch.Tensor) -> torch.Tensor:
    b, c, h, w = feature.shape
    return feature.permute(0, 2, 3, 1).reshape(b * h * w, c)


def feature_entropies(feature: torch.Tensor) -> tuple[float, float]:
    """(entropy with the covariance's negative eigenvalues taken as 0, entropy as the official
    code computes it) of the normalised eigenvalues of the channel covariance of a (B, C, H, W)
    map. The official value is NaN when rounding takes an eigenvalue of a singular covariance
    below −1e-8·Σλ (log of a negative number); ProxyError for a constant map (Σλ = 0: p = 0/0)."""
    x = _channels_last(feature.detach())
    x = x - x.mean(dim=0, keepdim=True)
    sigma = x.T @ x / x.shape[0]
    eigenvalues = torch.linalg.eigvalsh(sigma)
    total = eigenvalues.sum()
    if not total > 0:
        raise ProxyError("the feature map is constant (its channel covariance is 0, so p = 0/0)")
    p = eigenvalues / total
    official = float((-p * torch.log(p + ENTROPY_EPS)).sum())
    clamped = eigenvalues.clamp(min=0)
    q = clamped / clamped.sum()
    return float((-q * torch.log(q + ENTROPY_EPS)).sum()), official


def pullback_score(g_out: torch.Tensor, g_in: torch.Tensor) -> float:
    """t = −σ − 1/(σ + 1e-6) + 2 for the pulled-back sign map (−inf for an identity block);
    ProxyError when the two resolutions are not an integer ratio apart."""
    if g_out.shape == g_in.shape and torch.equal(g_in, g_out):
        return -math.inf
    (h_out, w_out), (h_in, w_in) = g_out.shape[2:], g_in.shape[2:]
    if (h_in, w_in) != (h_out, w_out):
        stride = h_in // h_out if h_out else 0
        if stride < 1 or h_in != stride * h_out or w_in != stride * w_out:
            raise ProxyError(f"AZ-NAS's trainability pairs feature maps whose sizes differ by an integer "
                             f"stride, got {h_in}×{w_in} → {h_out}×{w_out}")
        g_in = F.pixel_unshuffle(g_in, stride)
    a, b = _channels_last(g_in), _channels_last(g_out)
    matrix = a.T @ b / b.shape[0]
    if matrix.shape[0] < matrix.shape[1]:
        matrix = matrix.T
    sigma = float(torch.linalg.svdvals(matrix).max())
    return -sigma - 1.0 / (sigma + SIGMA_EPS) + 2.0


@dataclass
class AZComponents:
    """What one scoring pass found: the names of the feature maps, their entropies (in chain
    order) and t_l per consecutive pair (pair l joins maps l−1 and l), or why there are none."""

    names: list[str]
    entropies: list[float]  # negative eigenvalues taken as 0; NaN where `entropy_errors` says why
    official_entropies: list[float] = field(default_factory=list)  # NaN also where rounding made p < −1e-8
    entropy_errors: dict[int, str] = field(default_factory=dict)
    pair_scores: list[float] = field(default_factory=list)
    trainability_error: str | None = None


def _record_features(runner: nn.Module, chain: list[tuple[str, nn.Module]], x: torch.Tensor) -> list[torch.Tensor]:
    captured: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(chain))}

    def hook(index: int) -> Callable:
        def record(_module: nn.Module, _args, out) -> None:
            captured[index].append(out)
        return record

    handles = [module.register_forward_hook(hook(i)) for i, (_, module) in enumerate(chain)]
    try:
        runner(x)
    finally:
        for handle in handles:
            handle.remove()
    features = []
    for i, (name, _) in enumerate(chain):
        outs = captured[i]
        if len(outs) != 1:
            raise ProxyError(f"AZ-NAS needs one feature map per block, but {name} ran {len(outs)} times "
                             "in one forward pass")
        out = outs[0]
        if not isinstance(out, torch.Tensor) or out.dim() != 4:
            raise ProxyError(f"AZ-NAS needs (N, C, H, W) feature maps, but {name} returned "
                             f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        features.append(out)
    return features


def compute_components(model: nn.Module, inputs: torch.Tensor, rng: torch.Generator) -> AZComponents:
    """One AZ-NAS pass on a copy of `model` (see the module docstring): weights re-drawn from
    `rng`, then an N(0, 1) input of `inputs`' shape, then the sign maps."""
    net = copy.deepcopy(model)
    runner, chain = feature_chain(net)
    if not chain:
        raise ProxyError("AZ-NAS found no feature maps in this network's chain of cells")
    aznas_init_(net, rng)
    for parameter in net.parameters():
        parameter.requires_grad_(True)
    net.train()
    dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
    x = randn(inputs.shape, rng, inputs.device, dtype)
    with torch.enable_grad():
        features = _record_features(runner, chain, x)
        names = [name for name, _ in chain]
        result = AZComponents(names=names, entropies=[])
        for index, feature in enumerate(features):
            try:
                clamped, official = feature_entropies(feature)
            except ProxyError as error:
                clamped = official = math.nan
                result.entropy_errors[index] = str(error)
            result.entropies.append(clamped)
            result.official_entropies.append(official)
        scores: list[float] = []
        for l in reversed(range(1, len(features))):
            f_out, f_in = features[l], features[l - 1]
            g_out = (torch.bernoulli(torch.full(f_out.shape, 0.5), generator=rng) - 0.5).mul(2).to(f_out)
            if not (f_out.requires_grad and f_in.requires_grad):
                result.trainability_error = (f"no gradient reaches {names[l - 1]} from {names[l]} "
                                             "(a map without a path to the weights)")
                break
            (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)
            if g_in is None:
                result.trainability_error = f"{names[l]} does not depend on {names[l - 1]}: no gradient flows"
                break
            try:
                scores.append(pullback_score(g_out, g_in.detach()))
            except ProxyError as error:
                result.trainability_error = str(error)
                break
        result.pair_scores = scores[::-1]
    return result


def _components(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None,
                shared: SharedPasses | None, generator: torch.Generator | None) -> AZComponents:
    rng = generator if generator is not None else torch.Generator().manual_seed(0)
    passes = shared_for(model, inputs, targets, shared)
    # Keyed by the generator's seed: `score()` hands every proxy a fresh generator with the same
    # seed, so whichever component asks first draws what the others would have drawn.
    return passes.memo(("az_nas", rng.initial_seed()), lambda: compute_components(model, inputs, rng))


def _entropies(parts: AZComponents, singular: str) -> list[float]:
    if singular not in SINGULAR:
        raise ValueError(f"singular must be one of {SINGULAR}, got {singular!r}")
    for index, reason in parts.entropy_errors.items():
        raise ProxyError(f"AZ-NAS's expressivity is undefined at {parts.names[index]}: {reason} "
                         "(the official code scores this −∞)")
    if singular == "clamp":
        return parts.entropies
    for name, value in zip(parts.names, parts.official_entropies):
        if not math.isfinite(value):
            raise ProxyError(f"AZ-NAS's expressivity is undefined at {name} with singular='official': its "
                             "channel covariance is singular and a float32 eigenvalue came out below 0, so "
                             "log(p + 1e-8) is NaN (the official code scores this −∞)")
    return parts.official_entropies


def _two_maps(parts: AZComponents, component: str) -> None:
    if len(parts.names) < 2:
        raise ProxyError(f"AZ-NAS's {component} compares consecutive feature maps, but this network has "
                         f"only {len(parts.names)} ({', '.join(parts.names)})")


@proxy(
    "az_expressivity", display_name="AZ-NAS expressivity", paper=PAPER, year=2024,
    higher_is_better=True, needs_grad=False, default_batch_size=BATCH_SIZE,
    description="Sum over the feature maps of the network's cells of the entropy of the "
    "normalised eigenvalues of their channel covariance (kaiming-normal weights, random N(0, 1) "
    "inputs, BatchNorm in training mode): high when features spread over many directions.",
)
def az_expressivity(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
                    singular: str = SINGULAR_DEFAULT, shared: SharedPasses | None = None,
                    generator: torch.Generator | None = None) -> float:
    return float(sum(_entropies(_components(model, inputs, targets, shared, generator), singular)))


@proxy(
    "az_progressivity", display_name="AZ-NAS progressivity", paper=PAPER, year=2024,
    higher_is_better=True, needs_grad=False, default_batch_size=BATCH_SIZE,
    description="Smallest increase of the feature entropy from one cell to the next (see "
    "az_expressivity): high when every cell makes the features more expressive.",
)
def az_progressivity(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
                     singular: str = SINGULAR_DEFAULT, shared: SharedPasses | None = None,
                     generator: torch.Generator | None = None) -> float:
    parts = _components(model, inputs, targets, shared, generator)
    _two_maps(parts, "progressivity")
    entropies = _entropies(parts, singular)
    return float(min(b - a for a, b in zip(entropies, entropies[1:])))


@proxy(
    "az_trainability", display_name="AZ-NAS trainability", paper=PAPER, year=2024,
    higher_is_better=True, needs_grad=True, default_batch_size=BATCH_SIZE,
    description="Mean over the cells of −σ − 1/σ + 2, σ the largest singular value of the map "
    "that carries a random sign gradient from a cell's output back to its input: 0 (best) when "
    "gradients neither explode nor vanish. Undefined when a cell is an identity.",
)
def az_trainability(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
                    shared: SharedPasses | None = None, generator: torch.Generator | None = None) -> float:
    parts = _components(model, inputs, targets, shared, generator)
    _two_maps(parts, "trainability")
    if parts.trainability_error:
        raise ProxyError(f"AZ-NAS's trainability is undefined: {parts.trainability_error}")
    for l, value in enumerate(parts.pair_scores, start=1):
        if value == -math.inf:
            raise ProxyError(f"AZ-NAS's trainability is undefined: {parts.names[l]} passes gradients to "
                             f"{parts.names[l - 1]} unchanged (an identity block; the official code scores this −∞)")
        if not math.isfinite(value):
            raise ProxyError(f"AZ-NAS's trainability is undefined: the pullback through {parts.names[l]} "
                             f"gives σ = {value}")
    return float(sum(parts.pair_scores) / len(parts.pair_scores))


@proxy(
    "az_complexity", display_name="AZ-NAS complexity (FLOPs, M)", paper=PAPER, year=2024,
    higher_is_better=True, default_batch_size=1,
    description="AZ-NAS's complexity component: FLOPs (conv and linear multiply-accumulates for "
    "one image, millions), the same count as the flops proxy. Reads only the input shape.",
)
def az_complexity(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> float:
    return flops(model, inputs, targets)


__all__ = ["AZComponents", "aznas_init_", "az_complexity", "az_expressivity", "az_progressivity",
           "az_trainability", "compute_components", "feature_chain", "feature_entropies", "pullback_score"]
