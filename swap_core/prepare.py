"""What the app's default views need, scored ahead of a lecture into the score store
(`python -m swap_core prepare`): the Cell Designer's default cell and the random cells it is
ranked among, the Proxy Lab's default set and proxies, the Size Regulariser's default set.
The pages take their defaults from here, so what is prepared is what they show.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from . import explorer, lab
from .priority import Foreground
from .proxies import get_proxy, list_proxies
from .setup import Setup
from .store import ScoreStore

REFERENCE_SIZE = 50  # the Cell Designer's "rank among random cells" default
LAB_SIZE = 200
LAB_PROXIES = ("swap", "naswot", "synflow", "snip", "params")
REGULARISER_SIZE = 200
REGULARISER_PROXIES = ("swap",)


def proxy_groups() -> tuple[list[str], list[str]]:
    """(fast, slow) proxy names in registry order: slow ones need a backward pass per image."""
    names = list_proxies()
    slow = [n for n in names if get_proxy(n).per_sample_passes]
    return [n for n in names if n not in slow], slow


def lab_proxies() -> list[str]:
    return [n for n in LAB_PROXIES if n in list_proxies()]


@dataclass(frozen=True)
class Job:
    """One default view's cells and the proxies it shows."""

    label: str
    archs: tuple[str, ...]
    names: tuple[str, ...]


def default_jobs(setup: Setup) -> list[Job]:
    """The cells and proxies of every page's default view for `setup` (the sidebar's)."""
    fast, _ = proxy_groups()
    space = setup.space_obj
    reference = explorer.sample_architectures(space, REFERENCE_SIZE, setup.seed)
    lab_set = lab.arch_set(setup.space, setup.dataset, "sample", LAB_SIZE, setup.seed)
    regulariser_set = lab.arch_set(setup.space, setup.dataset, "sample", REGULARISER_SIZE, setup.seed)
    return [Job("Cell Designer: the default cell", (space.example,), tuple(fast)),
            Job(f"Cell Designer: {REFERENCE_SIZE} random cells to rank against", tuple(reference), tuple(fast)),
            Job(f"Proxy Lab: {lab_set.label}", lab_set.archs, tuple(lab_proxies())),
            Job(f"Size Regulariser: {regulariser_set.label}", regulariser_set.archs, REGULARISER_PROXIES)]


def prepare_states(setup: Setup, store: ScoreStore, jobs: list[Job] | None = None,
                   gate: Foreground | None = None) -> Iterator[tuple[str, int, int]]:
    """Score what `store` lacks of `jobs` (default: `default_jobs`); yields (job label, cells
    done, cells in the job) after each cell. With `gate`, each proxy waits for users first."""
    for job in jobs if jobs is not None else default_jobs(setup):
        for done, _ in enumerate(explorer.score_rows(setup, job.archs, job.names, store=store,
                                                     step=gate.background if gate else None), start=1):
            yield job.label, done, len(job.archs)


__all__ = ["LAB_PROXIES", "LAB_SIZE", "REFERENCE_SIZE", "REGULARISER_PROXIES", "REGULARISER_SIZE", "Job",
           "default_jobs", "lab_proxies", "prepare_states", "proxy_groups"]
