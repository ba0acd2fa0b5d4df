"""Published rank correlations of the proxies, to set beside ours (the Proxy Lab's paper
table, `scripts/proxy_table.py` and the README's table).

Each entry is a Spearman ρ with accuracy that a paper or its official code reports, the
benchmark table it belongs to (a NAS-Bench-Suite-Zero file name: `nb201_cifar10`, ...) and
where it was printed. A figure published over a different set of architectures (the whole
space rather than the file's ~430 rows) says so in its source. NAS-Bench-Suite-Zero's own
figures are not listed here: they are computed from the reference columns of the `zc` files
(`lab.reference_values`). Only figures read in the cited source are listed; a proxy without
one shows "—".
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    proxy: str  # a proxy or ensemble name
    table: str  # the zc file it corresponds to, without ".csv"
    spearman: float
    source: str


SWAP_NAS = "Peng et al., SWAP-NAS (ICLR 2024), abstract: NB201 CIFAR-100 validation accuracy"

AZ_NAS = ("Lee & Ham, AZ-NAS (CVPR 2024), official notebook (cvlab-yonsei/AZ-NAS): all 15,625 cells, "
          "CIFAR-10 test accuracy")
MECO = "Jiang et al., MeCo (NeurIPS 2023), abstract: NATS-Bench-TSS (all cells), CIFAR-10"

PUBLISHED: tuple[Published, ...] = (
    Published("az_nas", "nb201_cifar10", 0.913, AZ_NAS),
    Published("meco", "nb201_cifar10", 0.89, MECO),
    Published("reg_swap", "nb201_cifar100", 0.90, SWAP_NAS),
    Published("naswot", "nb201_cifar100", 0.80, SWAP_NAS + " (NWOT, as measured by SWAP-NAS)"),
)


def published(proxy: str, table: str) -> Published | None:
    """The published figure of `proxy` on `table` (a zc file name, with or without `zc/`
    and `.csv`), or None."""
    table = table.removeprefix("zc/").removesuffix(".csv")
    for entry in PUBLISHED:
        if entry.proxy == proxy and entry.table == table:
            return entry
    return None


__all__ = ["PUBLISHED", "Published", "published"]
