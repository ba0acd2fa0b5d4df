"""Network size: parameter count, FLOPs per image and peak activation memory (below).

FLOPs convention (documented): multiply-accumulate
operations of every `nn.Conv2d` (Cin/groups · k_h · k_w · Cout · H_out · W_out, plus Cout ·
H_out · W_out for a bias) and `nn.Linear` (in · out, plus out for a bias) for ONE image, in
millions (MFLOPs). Normalisation, activations, pooling and additions are not counted. The
benchmarks' own `flops` columns also count those, so absolute values here are lower (NB201:
up to ~40 % for pooling-heavy cells; NB301: 3–11 %), but the ranks agree (Spearman 0.996
on zc/nb201_cifar10.csv, 0.998 on zc/nb301_cifar10.csv).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (the benchmarks count these, BN affine included)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_size: int = 32, in_channels: int = 3) -> float:
    """MFLOPs of one forward pass on a single `in_channels × input_size²` image."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        k_h, k_w = module.kernel_size
        positions = out.shape[2] * out.shape[3]
        total += module.in_channels // module.groups * k_h * k_w * module.out_channels * positions
        if module.bias is not None:
            total += module.out_channels * positions

    def linear_hook(module: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += module.in_features * module.out_features
        if module.bias is not None:
            total += module.out_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device if any(True for _ in model.parameters()) else "cpu"
        with torch.no_grad():
            model(torch.zeros(1, in_channels, input_size, input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total / 1e6


# --- peak activation memory -------------------------------------------------------------------
#
# Definition (MCUNet, Lin et al., NeurIPS 2020, Sec. 3.1: peak SRAM = the activation memory of
# layer-by-layer inference; weights live in Flash and are not counted). The network runs once, in
# its own order, on one zero image per batch entry, with `train(False)` and no gradients. Every torch
# call that returns a tensor is one step (a conv, a BatchNorm, a ReLU, a pooling, a `+` that merges
# two branches, a `cat`). A tensor occupies memory from the step that creates it (the input image:
# from the start) until the last step that reads it; a view (slice, flatten) shares its base's
# memory and keeps it alive; parameters and buffers are not activations. The peak is the largest
# total over steps of the tensors alive during that step: for a plain chain of layers this is
# MCUNet's max over layers of input + output; a residual or multi-branch cell also holds every
# branch input or partial sum that a later step still needs. Sizes are numel × `bytes_per_value`
# (4: float32; 1: int8 as MCUNet deploys), whatever dtype the trace itself uses. No memory reuse
# by in-place ops or operator fusion is assumed, and the batch is `batch` images.


def _tensors(value) -> list[torch.Tensor]:
    """The tensors in a (nested) argument or result."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def _root(tensor: torch.Tensor) -> torch.Tensor:
    while tensor._base is not None:
        tensor = tensor._base
    return tensor


class _LiveTensorTrace(torch.overrides.TorchFunctionMode):
    """Records, for each torch call that returns a tensor, the activations it touches (reads or
    creates), by the id of their base tensor; parameters and buffers (`ignored`) are left out."""

    def __init__(self, ignored: set[int]) -> None:
        super().__init__()
        self.ignored = ignored
        self.held: dict[int, torch.Tensor] = {}  # id -> base tensor, held so that no id is reused
        self.steps: list[list[int]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        outputs = _tensors(result)
        if outputs:
            touched = []
            for tensor in _tensors(args) + _tensors(kwargs or {}) + outputs:
                root = _root(tensor)
                if id(root) not in self.ignored:
                    self.held.setdefault(id(root), root)
                    touched.append(id(root))
            self.steps.append(list(dict.fromkeys(touched)))
        return result

    def peak(self, bytes_per_value: int, keep_alive: tuple[torch.Tensor, ...] = ()) -> int:
        """The largest total size of the tensors alive during one step; `keep_alive` tensors stay
        alive to the end (a later block still reads them)."""
        sizes = {key: tensor.numel() * bytes_per_value for key, tensor in self.held.items()}
        return live_peak(self.steps, sizes, tuple(id(_root(t)) for t in keep_alive))


def live_peak(steps: list[list], sizes: dict, keep_alive: tuple = ()) -> int:
    """The definition above on an abstract trace: `steps[t]` lists the tensors (any hashable
    keys) step t touches, `sizes[key]` their sizes; a tensor lives from the first step that
    touches it to the last (to the end for `keep_alive`); the peak is the largest live total."""
    birth: dict = {}
    last: dict = {}
    for step, touched in enumerate(steps):
        for key in touched:
            birth.setdefault(key, step)
            last[key] = step
    for key in keep_alive:
        if key in birth:
            last[key] = len(steps) - 1
    change = [0] * (len(steps) + 1)
    for key, start in birth.items():
        change[start] += sizes[key]
        change[last[key] + 1] -= sizes[key]
    peak = live = 0
    for delta in change[:-1]:
        live += delta
        peak = max(peak, live)
    return peak


def record_steps(run, modules: tuple[nn.Module, ...]) -> tuple[list[list[int]], dict[int, int], object]:
    """(steps, numel per tensor key, result) of `run()` as `live_peak` takes them; a tensor's key is
    `root_id(tensor)`, valid while the result is alive. For composing traces of parts (`tinynas`)."""
    ignored = {id(t) for m in modules for t in (*m.parameters(), *m.buffers())}
    trace = _LiveTensorTrace(ignored)
    with torch.no_grad(), trace:
        result = run()
    return trace.steps, {key: tensor.numel() for key, tensor in trace.held.items()}, result


def root_id(tensor: torch.Tensor) -> int:
    """The key of `tensor`'s memory in `record_steps` (views share their base's)."""
    return id(_root(tensor))


def trace_peak(run, modules: tuple[nn.Module, ...], bytes_per_value: int = 4,
               keep_alive: tuple[torch.Tensor, ...] = ()) -> tuple[int, object]:
    """(peak activation bytes, result) of `run()`, a forward through `modules` (their
    parameters and buffers are not activations); see the definition above. For a part of a
    network: `tinynas` adds up blocks this way."""
    ignored = {id(t) for m in modules for t in (*m.parameters(), *m.buffers())}
    trace = _LiveTensorTrace(ignored)
    with torch.no_grad(), trace:
        result = run()
    return trace.peak(bytes_per_value, keep_alive), result


def peak_activation_bytes(model: nn.Module, input_size: int = 32, batch: int = 1, bytes_per_value: int = 4,
                          in_channels: int = 3) -> int:
    """Peak activation memory in bytes of one forward pass of `batch` zero images
    (`in_channels × input_size²`), by the definition in this section: the most bytes of live
    tensors during any one step of layer-by-layer inference (MCUNet's peak SRAM)."""
    if input_size < 1 or batch < 1 or bytes_per_value < 1:
        raise ValueError(f"input_size, batch and bytes_per_value must be >= 1, got {input_size}, {batch}, "
                         f"{bytes_per_value}")
    was_training = model.training
    try:
        model.train(False)
        device = next(iter(model.parameters()), torch.zeros(0)).device
        image = torch.zeros(batch, in_channels, input_size, input_size, device=device)
        peak, _ = trace_peak(lambda: model(image), (model,), bytes_per_value)
    finally:
        model.train(was_training)
    return peak
