"""Which device computes: `auto` takes the CUDA GPU when PyTorch finds one, else the CPU."""
from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def describe_devices() -> str:
    """What hardware was found, in words, e.g. "CPU, 2 threads; no CUDA GPU"."""
    cpu = f"CPU, {torch.get_num_threads()} threads"
    if not torch.cuda.is_available():
        return f"{cpu}; no CUDA GPU"
    return f"{cpu}; CUDA GPU: {torch.cuda.get_device_name(0)}"


def resolve_device(choice: str) -> str:
    """"auto" → "cuda" when a GPU is there, else "cpu"; "cuda:1" and the like pass through when
    that GPU exists; an explicit "cuda" without one is an error that says so."""
    base = str(choice).split(":")[0]
    if base not in DEVICE_CHOICES or (base != "cuda" and ":" in str(choice)):
        raise ValueError(f"unknown device {str(choice)[:40]!r}; expected one of {list(DEVICE_CHOICES)}")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but PyTorch finds no CUDA GPU here; use 'cpu' or 'auto'")
    if ":" in str(choice):  # cuda:N names one GPU, which must exist
        index = str(choice).partition(":")[2]
        count = torch.cuda.device_count()
        if not (index.isdigit() and index.isascii() and int(index) < count):
            raise ValueError(f"unknown device {str(choice)[:40]!r}; this machine has GPUs cuda:0..cuda:{count - 1}")
    return str(choice)


__all__ = ["DEVICE_CHOICES", "describe_devices", "resolve_device"]
