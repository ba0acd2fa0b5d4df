"""TE-NAS's two indicators (Chen, Gong, Wang, "Neural Architecture Search on ImageNet in Four
GPU Hours: A Theoretically Inspired Perspective", ICLR 2021; official code:
github.com/VITA-Group/TENAS): the condition number of the neural tangent kernel (trainability,
lower is better) and the number of linear regions (expressivity, higher is better).

**NTK condition number** (`ntk_cond`), as `get_ntk_n` in lib/procedures/ntk.py: the network in
training mode (BatchNorm uses batch statistics), one forward of the batch, then for every sample
n the gradient of the sum of its logits (`logit[n:n+1].backward(ones)`) with respect to every
parameter whose name contains 'weight' (conv, linear and BatchNorm weights; biases are left out)
is one row g_n of G; NTK = G Gᵀ and κ = λ_max / λ_min. Choices here:
- the rows are exact per-sample gradients of the batch graph, from the loop of backward passes
  on the CPU and from one vmapped backward (`is_grads_batched`) on a GPU; see
  `per_sample_gradients`;
- G Gᵀ is accumulated and diagonalised (`torch.linalg.eigvalsh`) in float64 (TE-NAS: float32
  `symeig`). Below λ_min = N·ε·λ_max (ε of the gradients' dtype: κ ≈ 1.2·10⁵ for N = 72 in
  float32) λ_min is rounding noise: such an NTK counts as singular and raises `ProxyError`
  (duplicated inputs, dead networks), where TE-NAS replaced only a NaN, by 100,000 (ntk.py
  line 59). NAS-Bench-201 cells gave κ from 17 to 600 at batch 64;
- weights are scored as given, once. TE-NAS re-initialises and averages 3 repeats
  (prune_tenas.py `--repeat 3`); its `kaiming_normal` setting never matches the names that
  `init_model` tests ('kaiming_norm_fanin'), so its networks keep PyTorch's default init too;
- batch 72, the NAS-Bench-201 setting of prune_launch.py (DARTS: 14 on CIFAR-10, 24 on
  ImageNet; the script's own default is 16).

**Linear regions** (`linear_regions`), after `Linear_Region_Collector` in
lib/procedures/linear_region_counter.py: a ReLU network is linear on each set of inputs that
share one activation pattern, so the number of distinct binary codes (unit > 0 or not, over
every unit of every ReLU whose input is 4-D, as its `hook_in_forward`) among many inputs counts
the linear regions those inputs reach. TE-NAS's `calc_LR` sums 1 / multiplicity over the
samples, which is the number of distinct codes; here `patterns.count_standard_patterns` refines classes of equal codes layer
by layer, exactly. TE-NAS runs this on a *thin* supernet (prune_tenas.py `model_config_thin`:
C=1, N=1, depth 1 = one cell, no stem; all candidate ops mixed) in training mode, on 3,000
inputs of 1×3×3 (3×3 crops of one random channel of CIFAR images, 3 forwards of 1,000). A
proxy here gets the network it is given, so:
- default batch 3,000 and `crop=4`: one random 4×4 crop of each input, all channels kept (our
  networks take 3 channels; NAS-Bench-201's and DARTS's two stride-2 stages need a side
  divisible by 4, so 3×3 cannot run); `crop=None` scores the inputs as they are;
- all inputs go through one forward (BatchNorm statistics over the batch, not per 1,000);
- the network's width is the caller's. The count is bounded by the batch size, and a wide
  network gives nearly every input its own code: on 3,000 inputs the NAS-Bench-201 benchmark
  network reaches 2,990-3,000 (4×4 crops or full images), where a thin one (`channels=1,
  cells=1, stem=False`) with 4×4 crops spreads over 1,467-2,845 and ranks 40 random cells
  with Spearman ρ = 0.63 against CIFAR-10 accuracy (0.44 with 8×8 crops, 0.02 with full images).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from ..patterns import count_standard_patterns, train_mode
from .registry import ProxyError, proxy
from ._shared import SharedPasses, preserved_state, shared_for

PAPER = ("Chen, Gong, Wang, Neural Architecture Search on ImageNet in Four GPU Hours: "
         "A Theoretically Inspired Perspective (ICLR 2021)")
OutputFn = Callable[[Tensor, "Tensor | None"], Tensor]
METHODS = ("auto", "batched", "loop")


# --- per-sample gradients and the NTK ------------------------------------------------------
def logit_sum(logits: Tensor, targets: Tensor | None = None) -> Tensor:
    """Each sample's sum of logits: TE-NAS's `logit[n:n+1].backward(torch.ones_like(...))`."""
    return logits.sum(dim=1)


def weight_parameters(model: nn.Module) -> list[Tensor]:
    """The parameters TE-NAS differentiates: those whose name contains 'weight'."""
    return [p for name, p in model.named_parameters() if "weight" in name and p.requires_grad]


def _batched_rows(scalars: Tensor, params: Sequence[Tensor], chunk_size: int) -> list[Tensor | None]:
    """Per parameter, the (N, *shape) gradients of every scalar: `chunk_size` backward passes
    at a time, vmapped over rows of the identity as grad_outputs."""
    eye = torch.eye(len(scalars), dtype=scalars.dtype, device=scalars.device)
    chunks = [torch.autograd.grad(scalars, params, grad_outputs=eye[start:start + chunk_size], retain_graph=True,
                                  allow_unused=True, is_grads_batched=True)
              for start in range(0, len(scalars), chunk_size)]
    return [None if parts[0] is None else torch.cat(parts) for parts in zip(*chunks)]


def _loop_rows(scalars: Tensor, params: Sequence[Tensor]) -> list[Tensor | None]:
    """The same as `_batched_rows`, one backward pass per scalar (TE-NAS's loop)."""
    rows = [torch.autograd.grad(s, params, retain_graph=True, allow_unused=True) for s in scalars]
    return [None if parts[0] is None else torch.stack(parts) for parts in zip(*rows)]


def per_sample_gradients(model: nn.Module, inputs: Tensor, output_fn: OutputFn = logit_sum,
                         targets: Tensor | None = None, *, parameters: Sequence[Tensor] | None = None,
                         method: str = "auto", chunk_size: int = 16) -> Tensor:
    """G (N × P): row n is the gradient of `output_fn(logits, targets)[n]` with respect to
    `parameters` (default: all that require grad; those no output reaches are left out).

    One forward of the whole batch in the model's current mode, so in training mode a
    sample's row includes its effect through the BatchNorm batch statistics, exactly as
    N separate backward passes of the batch graph give it. `batched` runs the backward for
    `chunk_size` samples at once (`is_grads_batched`); `loop` runs one backward per sample.
    Both give the same rows (bitwise on the CPU here). `auto` is `batched` on a GPU, where it
    took half the loop's time (NAS-Bench-201, batch 64, H100), falling back to `loop` if an
    op has no batching rule, and `loop` on the CPU, where vmap runs each conv's weight
    gradient per sample anyway and was 1.5× slower. BatchNorm statistics and `.grad` are
    left as they were.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {list(METHODS)}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    params = [p for p in (model.parameters() if parameters is None else parameters) if p.requires_grad]
    with preserved_state(model), torch.enable_grad():
        scalars = output_fn(model(inputs), targets)
        if scalars.shape != (len(inputs),):
            raise ValueError(f"output_fn must give one scalar per sample, shape ({len(inputs)},), "
                             f"got {tuple(scalars.shape)}")
        rows = None
        if method == "batched" or (method == "auto" and inputs.device.type != "cpu"):
            try:
                rows = _batched_rows(scalars, params, chunk_size)
            except RuntimeError:
                if method == "batched":
                    raise
        if rows is None:
            rows = _loop_rows(scalars, params)
    grads = [g.reshape(len(inputs), -1) for g in rows if g is not None]
    if not grads:
        raise ProxyError("no parameter receives a gradient from the network's output")
    return torch.cat(grads, dim=1).detach()


def gram(rows: Tensor, block: int = 1 << 16) -> Tensor:
    """G Gᵀ in float64, accumulated over column blocks (no float64 copy of all of G)."""
    kernel = torch.zeros(len(rows), len(rows), dtype=torch.float64, device=rows.device)
    for start in range(0, rows.shape[1], block):
        part = rows[:, start:start + block].double()
        kernel.addmm_(part, part.T)
    return kernel


def ntk_matrix(model: nn.Module, inputs: Tensor, output_fn: OutputFn = logit_sum, targets: Tensor | None = None, *,
               parameters: Sequence[Tensor] | None = None, method: str = "auto") -> Tensor:
    """The empirical NTK G Gᵀ (N × N, float64), the model in training mode (restored after)."""
    with train_mode(model):
        rows = per_sample_gradients(model, inputs, output_fn, targets, parameters=parameters, method=method)
    return gram(rows)


def shared_ntk(shared: SharedPasses, output: str, output_fn: OutputFn, parameters: str,
               select: Callable[[nn.Module], Sequence[Tensor]], method: str = "auto") -> Tensor:
    """`ntk_matrix` through `shared.memo`: proxies that ask for the same output
    (e.g. 'logit_sum', 'true_class_logit') and parameter set share one set of passes.
    The N × N kernel is stored, not G (which has N rows of every parameter)."""
    return shared.memo(("ntk", output, parameters), lambda: ntk_matrix(
        shared.model, shared.inputs, output_fn, shared.targets, parameters=select(shared.model), method=method))


def gradient_precision(model: nn.Module) -> float:
    """Machine epsilon of the model's parameters, the precision of its gradients."""
    param = next(model.parameters(), None)
    return torch.finfo(param.dtype if param is not None and param.is_floating_point() else torch.float32).eps


def condition_number(kernel: Tensor, precision: float = torch.finfo(torch.float32).eps) -> float:
    """λ_max / λ_min of a symmetric PSD kernel; `ProxyError` when it is singular at the
    precision of the gradients it was built from (λ_min ≤ N·precision·λ_max) or not finite."""
    if not torch.isfinite(kernel).all():
        raise ProxyError("NTK has non-finite entries (the network's gradients overflow or are NaN)")
    eigenvalues = torch.linalg.eigvalsh(kernel)
    smallest, largest = float(eigenvalues[0]), float(eigenvalues[-1])
    if largest <= 0:
        raise ProxyError("NTK is zero: no parameter gradient reaches the output")
    if smallest <= len(kernel) * precision * largest:
        raise ProxyError(f"NTK is singular: λ_min = {smallest:.3g}, λ_max = {largest:.3g} (two inputs with "
                         "equal gradients, e.g. duplicated inputs, or fewer useful parameters than samples)")
    return largest / smallest


@proxy(
    "ntk_cond", display_name="NTK condition number (TE-NAS)", paper=PAPER, year=2021,
    higher_is_better=False, needs_grad=True, default_batch_size=72, per_sample_passes=True,
    description="λ_max/λ_min of the neural tangent kernel G Gᵀ (G: per-sample gradients of the "
    "logit sum w.r.t. all weights): low means the network trains easily. Option: method "
    "('auto', 'batched', 'loop').",
)
def ntk_cond(model: nn.Module, inputs: Tensor, targets: Tensor | None = None, *, method: str = "auto",
             shared: SharedPasses | None = None) -> float:
    shared = shared_for(model, inputs, targets, shared)
    kernel = shared_ntk(shared, "logit_sum", logit_sum, "weight", weight_parameters, method)
    return condition_number(kernel, gradient_precision(model))


# --- linear regions -------------------------------------------------------------------------
def random_crops(inputs: Tensor, size: int, generator: torch.Generator | None = None) -> Tensor:
    """One random size × size crop of each input (positions drawn from `generator`, a fresh one
    seeded 0 when None)."""
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    height, width = inputs.shape[-2:]
    if not 1 <= size <= min(height, width):
        raise ValueError(f"crop must be between 1 and {min(height, width)}, got {size}")
    rows = torch.randint(0, height - size + 1, (len(inputs),), generator=generator).tolist()
    cols = torch.randint(0, width - size + 1, (len(inputs),), generator=generator).tolist()
    return torch.stack([x[..., r:r + size, c:c + size] for x, r, c in zip(inputs, rows, cols)])


@proxy(
    "linear_regions", display_name="Linear regions (TE-NAS)", paper=PAPER, year=2021,
    higher_is_better=True, default_batch_size=3000,
    description="Number of distinct ReLU activation codes (linear regions) among random 4×4 crops of "
    "the inputs: high means an expressive network. At most the batch size, which wide networks "
    "reach: score a thin network (1 channel, 1 cell, no stem) as TE-NAS does. Option: crop "
    "(side, or None for whole inputs).",
)
def linear_regions(model: nn.Module, inputs: Tensor, targets: Tensor | None = None, *,
                   crop: int | None = 4, generator: torch.Generator | None = None) -> float:
    if crop is not None:
        inputs = random_crops(inputs, crop, generator)
    try:
        with train_mode(model):
            return float(count_standard_patterns(model, inputs, spatial_only=True))
    except RuntimeError as error:
        if crop is None:
            raise
        raise ProxyError(f"the network cannot run on {crop}×{crop} crops ({error}); try a crop that "
                         "its downsampling divides (e.g. 4 or 8)") from error


__all__ = ["condition_number", "gradient_precision", "gram", "linear_regions",
           "logit_sum", "ntk_cond", "ntk_matrix", "per_sample_gradients", "random_crops",
           "shared_ntk", "weight_parameters"]
