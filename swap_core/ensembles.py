"""Ensembles of zero-cost proxies, computed over a table of scores (one value per
architecture per proxy): a vote needs other architectures to compare with, so an ensemble
scores a whole set at once rather than one network.

- `vote`: the majority vote of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS"
  (ICLR 2021; code github.com/SamsungLabs/zero-cost-nas). Their notebook
  notebooks/nasbench201_correlations.ipynb ("Voting between 3 metrics", function `vote`)
  compares two architectures i and j by the sign of s_m(i) − s_m(j) for the members
  synflow, jacob_cov and snip: i is ranked above j when at least half of them say
  s_m(i) > s_m(j). They use it only to count the pairs it orders like accuracy. Here it
  becomes a per-architecture score, Copeland's rule: i beats j when more members rank i
  above j than j above i; members with equal values, or without a value for i or j,
  abstain. The score is the number of other architectures i beats, plus ½ for each it
  draws with (equal margins, or no member able to vote). With three members, no ties and no
  NaN this is exactly their rule (at least two of three). Scores lie in [0, n − 1] and sum
  to n(n − 1)/2 over the n architectures scored.
- `rank_average`: Borda-style rank aggregation (a common baseline, no single source): the mean over members of each architecture's rank, normalised to [0, 1]
  per member (0 worst, 1 best; ties share their average rank; a member's only value gets
  ½). A member with no value for an architecture is left out of that architecture's mean,
  and the ranks of a member are over the architectures it scored.
- `az_nas`: the aggregation of Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network
  Architecture Search" (CVPR 2024; code github.com/cvlab-yonsei/AZ-NAS, notebook
  NB201/tss_general.ipynb): score(i) = Σ_m log(rank_m(i) / N), rank_m(i) ∈ 1..N the rank of
  architecture i among the N scored by member m (N = best; ties share their average rank, as
  their `scipy.stats.rankdata`). A weak rank on any member pulls the sum down hard (log → −∞
  as the rank → 0), so an architecture must do well on every member. Default members: AZ-NAS's
  own four (`az_expressivity`, `az_progressivity`, `az_trainability`, `az_complexity`, see
  `swap_core.proxies.aznas`). A member without a score for an architecture (NaN: undefined,
  where their code had −inf) ranks below every architecture it scored, NaNs tied among
  themselves — exactly where −inf ranked in their code — so a missing score never helps (leaving
  a member out of a sum of non-positive terms would). N counts the architectures with a score
  from at least one member; one with none gets NaN. The scores are ≤ 0, 0 for an architecture
  best on every member. `log_rank_sum` is the same rule under a name of its own, for other
  member sets (default: swap with AZ-NAS's trainability and complexity, which measure what
  swap does not).

All respect each member's direction (`get_proxy(name).higher_is_better`: a lower-is-better
member is reversed) and are higher-is-better themselves. NaN marks a missing score; an
architecture with no score from any member gets NaN and takes no part in the vote.
Members are proxy names; a table may hold a member under its proxy name or under its
NAS-Bench-Suite-Zero column (`jacob_cov` as `jacov`), and a member may be given either way.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from .proxies import ProxyInfo, get_proxy, list_proxies

ABDELFATTAH = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS (ICLR 2021)"
VOTE_MEMBERS = ("synflow", "jacob_cov", "snip")
AZ_NAS = "Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search (CVPR 2024)"
AZ_NAS_MEMBERS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
LOG_RANK_MEMBERS = ("swap", "az_trainability", "az_complexity")
_BLOCK = 1 << 18  # pairs (i, j) whose vote margins are held in memory at once

Rule = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Ensemble:
    """An ensemble rule: `combine(table)` gives one higher-is-better score per architecture."""

    name: str
    display_name: str
    description: str
    paper: str
    default_members: tuple[str, ...]
    rule: Rule = field(repr=False)  # (members, architectures) oriented higher-is-better → (architectures,)
    higher_is_better: bool = True

    def combine(self, table: Mapping[str, Sequence[float]], members: Sequence[str] | None = None) -> np.ndarray:
        """Scores of the architectures (rows) of `table` from `members` (default: the ensemble's)."""
        return self.rule(oriented_scores(table, self.default_members if members is None else members))


def _proxy_for(member: str) -> ProxyInfo:
    names = list_proxies()
    if member in names:
        return get_proxy(member)
    for name in names:
        if get_proxy(name).reference_column == member:
            return get_proxy(name)
    raise ValueError(f"unknown ensemble member {member!r}: expected a proxy name, one of {names}")


def _column(table: Mapping[str, Sequence[float]], member: str, info: ProxyInfo) -> np.ndarray:
    for key in dict.fromkeys((member, info.name, info.reference_column)):
        if key is not None and key in table:
            values = np.asarray(table[key], dtype=float)
            if values.ndim != 1:
                raise ValueError(f"column {key!r} must hold one score per architecture, got shape {values.shape}")
            return values
    raise ValueError(f"the score table has no column for member {member!r}; its columns are {list(table)}")


def oriented_scores(table: Mapping[str, Sequence[float]], members: Sequence[str]) -> np.ndarray:
    """(members, architectures) float array, each row negated where its proxy is lower-is-better."""
    members = (members,) if isinstance(members, str) else tuple(members)
    if not members:
        raise ValueError("an ensemble needs at least one member")
    if len(set(members)) != len(members):
        raise ValueError(f"ensemble members repeat: {list(members)}")
    rows = []
    for member in members:
        info = _proxy_for(member)
        values = _column(table, member, info)
        rows.append(values if info.higher_is_better else -values)
    lengths = {member: len(row) for member, row in zip(members, rows)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"member columns differ in length: {lengths}")
    return np.stack(rows)


def copeland_vote(scores: np.ndarray) -> np.ndarray:
    """Wins + ½·draws of each architecture in pairwise majority votes (see the module docstring)."""
    result = np.full(scores.shape[1], np.nan)
    scored = ~np.isnan(scores).all(axis=0)
    values = scores[:, scored]
    n = values.shape[1]
    points = np.empty(n)
    step = max(1, _BLOCK // max(1, n))
    with np.errstate(invalid="ignore"):  # NaN compares False both ways: that member abstains
        for start in range(0, n, step):
            stop = min(n, start + step)
            margin = np.zeros((stop - start, n), dtype=np.int16)  # members for i − members for j
            for member in values:
                mine, theirs = member[start:stop, None], member[None, :]
                margin += mine > theirs
                margin -= mine < theirs
            draws = (margin == 0).sum(axis=1) - 1  # an architecture draws with itself
            points[start:stop] = (margin > 0).sum(axis=1) + 0.5 * draws
    result[scored] = points
    return result


def normalised_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of the non-NaN values scaled to [0, 1] (average rank for ties; ½ for a lone value)."""
    ranks = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    count = int(present.sum())
    if count == 1:
        ranks[present] = 0.5
    elif count > 1:
        ranks[present] = (rankdata(values[present]) - 1) / (count - 1)
    return ranks


def log_rank_sum(scores: np.ndarray) -> np.ndarray:
    """AZ-NAS's rule: Σ over members of log(rank / N), NaN ranked last (see the module docstring)."""
    result = np.full(scores.shape[1], np.nan)
    scored = ~np.isnan(scores).all(axis=0)
    values = scores[:, scored]
    n = values.shape[1]
    total = np.zeros(n)
    for member in values:
        present = ~np.isnan(member)
        missing = n - int(present.sum())
        ranks = np.full(n, (missing + 1) / 2)  # the missing share ranks 1..missing
        ranks[present] = missing + rankdata(member[present])
        total += np.log(ranks / n)
    result[scored] = total
    return result


def mean_normalised_rank(scores: np.ndarray) -> np.ndarray:
    ranks = np.stack([normalised_ranks(row) for row in scores])
    present = ~np.isnan(ranks)
    count = present.sum(axis=0)
    total = np.where(present, ranks, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


_ENSEMBLES: dict[str, Ensemble] = {}


def register_ensemble(ensemble: Ensemble) -> Ensemble:
    """Add `ensemble` under its name; a name that is already registered is a ValueError."""
    if ensemble.name in _ENSEMBLES:
        raise ValueError(f"an ensemble named {ensemble.name!r} is already registered "
                         f"({_ENSEMBLES[ensemble.name].display_name}); choose another name")
    _ENSEMBLES[ensemble.name] = ensemble
    return ensemble


register_ensemble(Ensemble(
    name="vote", display_name="Majority vote", paper=ABDELFATTAH, default_members=VOTE_MEMBERS,
    rule=copeland_vote,
    description="Pairwise majority vote of the members (synflow, jacob_cov and snip by default, as "
    "Abdelfattah et al.): an architecture beats another when more members rank it higher. Score: "
    "the number of architectures it beats, ½ for each draw.",
))
register_ensemble(Ensemble(
    name="rank_average", display_name="Rank average", paper="", default_members=VOTE_MEMBERS,
    rule=mean_normalised_rank,
    description="Mean over the members of each architecture's rank, scaled to [0, 1] "
    "(1 = best); a member without a score for an architecture is left out of its mean.",
))

register_ensemble(Ensemble(
    name="az_nas", display_name="AZ-NAS", paper=AZ_NAS, default_members=AZ_NAS_MEMBERS,
    rule=log_rank_sum,
    description="Sum over the members of log(rank / N) (N architectures, rank N = best): AZ-NAS's "
    "assembly of its expressivity, progressivity, trainability and complexity (FLOPs). An "
    "architecture must rank well on every member; a missing score ranks last.",
))
register_ensemble(Ensemble(
    name="log_rank_sum", display_name="Sum of log ranks", paper=AZ_NAS, default_members=LOG_RANK_MEMBERS,
    rule=log_rank_sum,
    description="AZ-NAS's rule (sum over the members of log(rank / N)) on any members; by default "
    "swap with AZ-NAS's trainability and complexity.",
))


def list_ensembles() -> list[str]:
    return list(_ENSEMBLES)


def get_ensemble(name: str) -> Ensemble:
    if name not in _ENSEMBLES:
        raise ValueError(f"unknown ensemble {name!r}; expected one of {sorted(_ENSEMBLES)}")
    return _ENSEMBLES[name]


__all__ = ["Ensemble", "copeland_vote", "get_ensemble", "list_ensembles", "log_rank_sum", "mean_normalised_rank",
           "normalised_ranks", "oriented_scores", "register_ensemble"]
