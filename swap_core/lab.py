"""The Proxy Lab's analyses: which architectures to score, how proxies correlate with the
ground truth and with each other, where two proxies disagree, and the paper table
(Spearman ρ per proxy and benchmark table, beside NAS-Bench-Suite-Zero's own values,
Krishnakumar et al., NeurIPS 2022 D&B). `python -m swap_core correlate` prints the same
`correlation_table`, so the page and the command line agree by construction.
"""
from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import benchmarks, explorer
from .ensembles import get_ensemble, list_ensembles
from .proxies import get_proxy, list_proxies
from .published import published
from .spaces import get_space
from .stats import partial_rank_correlation, rank_correlation, top_k_overlap

RESULTS = Path(__file__).resolve().parents[1] / "results" / "suite_zero"
PROXY_TABLE = RESULTS.parent / "proxy_table"


# --- architecture sets -------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchSet:
    """Architectures to score and the accuracy the ground truth gives them (NaN: unknown)."""

    label: str
    archs: tuple[str, ...]
    accuracy: tuple[float, ...]
    truth: str  # the table the accuracy comes from ("" when none)


def arch_set_choices(space: str, dataset: str, data_dir=None) -> list[str]:
    """"sample" (random cells of the space) and every ground-truth table found for
    (space, dataset), as "FILE:COLUMN"."""
    found = []
    for spec in explorer.truth_specs(space, dataset):
        try:
            benchmarks.resolve_file(spec, data_dir)
            found.append(spec)
        except benchmarks.MissingDataError:
            continue
    return ["sample", *found]


def arch_set(space: str, dataset: str, choice: str, size: int, seed: int, data_dir=None) -> ArchSet:
    """`size` random cells of the space ("sample"), or of a ground-truth table (all of it
    when `size` ≥ its rows), drawn with `seed`; accuracy from the table, or for a sample
    from the first table found (NaN where it has no row)."""
    if size < 1:
        raise ValueError(f"the set needs at least one architecture, got {size}")
    if choice == "sample":
        archs = explorer.sample_architectures(get_space(space), size, seed)
        found = explorer.accuracy_table(space, dataset, data_dir)
        spec, table = found if found else ("", {})
        label = f"{size} random cells (seed {seed})"
    else:
        spec, table = choice, benchmarks.truth_table(choice, data_dir=data_dir)
        archs = list(table)
        if size < len(archs):
            archs = sorted(random.Random(seed).sample(archs, size), key=archs.index)
        label = f"{len(archs)} cells of {choice.split(':')[0]}" + (f" (seed {seed})" if size < len(table) else "")
    accuracy = tuple(float(table.get(a, math.nan)) for a in archs)
    return ArchSet(label, tuple(archs), accuracy, spec)


# --- correlations --------------------------------------------------------------------------
def reference_column_of(name: str) -> str:
    """The zc/*.csv column holding NAS-Bench-Suite-Zero's scores of proxy `name`."""
    try:
        info = get_proxy(name)
    except ValueError:
        return name
    return info.reference_column or name


def reference_values(reference: pd.DataFrame, archs: Sequence[str], names: Sequence[str]) -> dict[str, list[float]]:
    """NAS-Bench-Suite-Zero's scores (a zc table) of `archs` for every proxy in `names`
    that has a non-empty column there (NASLib left some, e.g. zen, empty)."""
    if "arch" not in reference.columns:
        raise ValueError("the reference table has no 'arch' column")
    rows = reference.set_index("arch")
    found = {}
    for name in names:
        column = reference_column_of(name)
        if column in rows.columns and column not in ("arch", "val_accuracy"):
            values = [float(v) for v in rows[column].reindex(list(archs))]
            if any(math.isfinite(v) for v in values):
                found[name] = values
    return found


def correlation_table(columns: Mapping[str, Sequence[float]], truth: Sequence[float],
                      reference: Mapping[str, Sequence[float]] | None = None) -> list[dict]:
    """One record per score column: n, Spearman ρ and Kendall τ with `truth`; with
    `reference` (reference column values per score column, same architectures), also the
    reference column's name, ρ between ours and the reference, and the reference's own ρ."""
    records = []
    for name, values in columns.items():
        result = rank_correlation(values, truth)
        record = {"proxy": name, "n": result["n"], "spearman": result["spearman"], "kendall": result["kendall"]}
        if reference is not None and name in reference:
            ref_values = reference[name]
            record["reference_column"] = reference_column_of(name)
            record["rho_vs_reference"] = rank_correlation(values, ref_values)["spearman"]
            record["reference_spearman"] = rank_correlation(ref_values, truth)["spearman"]
        records.append(record)
    return records


def direction(name: str) -> bool:
    """Whether higher is better for a score column (a proxy's own flag; True otherwise)."""
    try:
        return get_proxy(name).higher_is_better
    except ValueError:
        return True


def proxy_summary(scores: pd.DataFrame, names: Sequence[str], accuracy: Sequence[float], size_column: str,
                  k: int) -> pd.DataFrame:
    """Per proxy: Spearman ρ and Kendall τ with accuracy, the partial ρ controlling for
    the size column, and the share of the true top-k in the proxy's top-k."""
    rows = []
    for name in names:
        values = scores[name].to_numpy(dtype=float)
        correlation = rank_correlation(values, accuracy)
        rows.append({
            "proxy": name, "n": correlation["n"], "spearman": correlation["spearman"],
            "kendall": correlation["kendall"],
            f"partial ρ | {size_column}": partial_rank_correlation(values, accuracy, scores[size_column]),
            f"true top-{k} found": top_k_overlap(values, accuracy, k, direction(name)),
        })
    return pd.DataFrame(rows)


def disagreements(scores: pd.DataFrame, a: str, b: str, count: int = 5) -> pd.DataFrame:
    """The architectures that proxies `a` and `b` rank most differently: ranks (1 = best,
    each in its own direction, among rows where both are finite) and their gap."""
    both = scores[np.isfinite(scores[a].astype(float)) & np.isfinite(scores[b].astype(float))].copy()
    both[f"rank by {a}"] = both[a].rank(ascending=not direction(a), method="min").astype(int)
    both[f"rank by {b}"] = both[b].rank(ascending=not direction(b), method="min").astype(int)
    both["gap"] = (both[f"rank by {a}"] - both[f"rank by {b}"]).abs()
    keep = ["arch", a, b, f"rank by {a}", f"rank by {b}", "gap"]
    return both.sort_values("gap", ascending=False, kind="stable")[keep].head(count).reset_index(drop=True)


def ensemble_members(ensembles: Sequence[str]) -> list[str]:
    """The proxies the `ensembles` combine (their default members), in `list_proxies` order."""
    wanted = {m for e in ensembles for m in get_ensemble(e).default_members}
    return [n for n in list_proxies() if n in wanted]


def with_ensembles(scores: pd.DataFrame, ensembles: Sequence[str]) -> pd.DataFrame:
    """`scores` with one more column per ensemble, named after it: `Ensemble.combine` over
    the rows (an ensemble ranks the architectures against each other, so its value for a row
    depends on the other rows), as `correlate --ensemble` computes it."""
    scores = scores.copy()
    for name in ensembles:
        scores[name] = get_ensemble(name).combine(scores) if len(scores) else []
    return scores


# --- the paper table -----------------------------------------------------------------------
def suite_zero_scores() -> dict[str, Path]:
    """Scores committed in results/suite_zero (batch 64, seed 0), by zc file name."""
    return {f"zc/{path.name.split('.')[0]}.csv": path for path in sorted(RESULTS.glob("*.b64.seed0.csv"))}


def committed_scores(folders: Sequence[Path] = (RESULTS, PROXY_TABLE)) -> dict[str, pd.DataFrame]:
    """Every committed score of each zc file, one column per proxy merged on `arch`: the
    suite's files in results/suite_zero (batch 64, seed 0, all rows or the first N) and the newer
    proxies' in results/proxy_table (each at its own batch, seed 0; `<file>.<proxies>[@batch].csv`,
    written by scripts/proxy_table.py). A proxy found twice keeps its first file's column."""
    merged: dict[str, pd.DataFrame] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.csv")):
            name = path.name.split(".")[0]
            if not (path.name.startswith(f"{name}.b64.seed0") or folder == PROXY_TABLE) or name == "proxy_table":
                continue
            scores = pd.read_csv(path).drop(columns=["seconds"], errors="ignore")
            spec = f"zc/{name}.csv"
            known = merged.get(spec)
            if known is None:
                merged[spec] = scores
                continue
            new = ["arch", *[c for c in scores.columns if c not in known.columns]]
            merged[spec] = known.merge(scores[new], on="arch", how="outer") if len(new) > 1 else known
    return merged


def paper_column(scores: pd.DataFrame, truth_spec: str, names: Sequence[str], data_dir=None) -> pd.DataFrame:
    """One table's column pair: per proxy, our Spearman ρ with the table's accuracy and,
    for a zc table, NAS-Bench-Suite-Zero's own ρ of that proxy's column."""
    truth = benchmarks.truth_table(truth_spec, data_dir=data_dir)
    matched = scores[scores["arch"].isin(list(truth))]
    accuracy = [truth[a] for a in matched["arch"]]
    reference = None
    file = truth_spec.split(":")[0]
    if file.startswith("zc/"):
        reference = reference_values(benchmarks.read_table(benchmarks.resolve_file(file, data_dir)),
                                     matched["arch"].tolist(), names)
    records = correlation_table({n: matched[n].astype(float).tolist() for n in names}, accuracy, reference)
    found = [published(r["proxy"], file) for r in records]
    return pd.DataFrame({"proxy": [r["proxy"] for r in records], "n": [r["n"] for r in records],
                         "ours": [r["spearman"] for r in records],
                         "NAS-Bench-Suite-Zero": [r.get("reference_spearman", math.nan) for r in records],
                         "published": [f.spearman if f else math.nan for f in found]})


def paper_table(sources: Mapping[str, pd.DataFrame], data_dir=None) -> pd.DataFrame:
    """Rows: proxies; per table ("FILE" or "FILE:COLUMN" → our scores of its
    architectures) "<FILE> · ours", "<FILE> · NAS-Bench-Suite-Zero" and, where a paper
    reports one (`swap_core.published`), "<FILE> · published"."""
    columns = []
    for spec, scores in sources.items():
        file = spec.split(":")[0]
        truth_spec = spec if ":" in spec else f"{spec}:{benchmarks._default_column(file, None)}"
        present = [n for n in scores.columns if _is_proxy(n)]
        scores = with_ensembles(scores, [e for e in list_ensembles()
                                         if set(get_ensemble(e).default_members) <= set(present)])
        present += [n for n in scores.columns if n in list_ensembles()]
        column = paper_column(scores, truth_spec, present, data_dir).set_index("proxy").drop(columns=["n"])
        column = column.drop(columns=["published"]) if column["published"].isna().all() else column
        columns.append(column.add_prefix(f"{file} · "))
    return pd.concat(columns, axis=1) if columns else pd.DataFrame()


def _is_proxy(name: str) -> bool:
    try:
        get_proxy(name)
        return True
    except ValueError:
        return False


__all__ = [
    "ArchSet", "arch_set", "arch_set_choices", "correlation_table", "direction", "disagreements",
    "ensemble_members", "paper_column",
    "paper_table",
    "committed_scores", "proxy_summary", "reference_column_of", "reference_values", "suite_zero_scores",
    "with_ensembles",
]


# --- the learned predictor on the Lab's set ----------------------------------------------------
PREDICTOR_KS = (10, 25, 50, 100, 200, 400)
PREDICTOR_MIN_TEST = 10  # unseen cells a k needs left over to be judged on


def predictor_ks(n: int, ks: Sequence[int] = PREDICTOR_KS) -> list[int]:
    """The training sizes a set of `n` cells with accuracy allows: each leaves at least
    PREDICTOR_MIN_TEST cells unseen."""
    return [k for k in ks if k <= n - PREDICTOR_MIN_TEST]


def predictor_curve_states(space: str, scores: pd.DataFrame, names: Sequence[str], accuracy_column: str = "accuracy",
                           ks: Sequence[int] | None = None, repeats: int = 3, seed: int = 0):
    """The few-shot predictor's learning curve on a scored set, one state per fit (for the
    engine): a list of records {k, repeat, spearman, kendall, n_test} so far. Features: the
    graph features of each cell and the set's scores of `names` (`predictor.graph_features`,
    LightGBM as `python -m swap_core predict`); for each k and repeat r, k cells with accuracy are
    drawn by (seed + r) to train on and it is judged on every other cell of the set — it uses k
    trained accuracies, so it is never one of the training-free columns."""
    from . import predictor

    space_obj = get_space(space)
    known = scores[np.isfinite(scores[accuracy_column].astype(float))].reset_index(drop=True)
    ks = predictor_ks(len(known)) if ks is None else list(ks)
    if not ks:
        raise ValueError(f"the predictor needs at least {PREDICTOR_KS[0] + PREDICTOR_MIN_TEST} cells with a "
                         f"trained accuracy; this set has {len(known)}")
    graph = pd.DataFrame([predictor.graph_features(space_obj, a) for a in known["arch"]])
    x = pd.concat([graph, known[list(names)].astype(float).add_prefix("zc_").reset_index(drop=True)], axis=1)
    x, y = x.to_numpy(float), known[accuracy_column].to_numpy(float)
    records: list[dict] = []
    for k in ks:
        for r in range(repeats):
            order = list(range(len(known)))
            random.Random(seed + r).shuffle(order)
            train, test = order[:k], order[k:]
            predicted = predictor.fit_predict(x[train], y[train], x[test], seed=seed + r)
            rho, tau = predictor.rank_correlations(predicted, y[test])
            records.append({"k": k, "repeat": r, "spearman": rho, "kendall": tau, "n_test": len(test)})
            yield list(records)


def predictor_summary(records: Sequence[Mapping]) -> pd.DataFrame:
    """Mean and standard deviation of ρ and τ per k (over the repeats done so far)."""
    frame = pd.DataFrame(list(records), columns=["k", "repeat", "spearman", "kendall", "n_test"])
    summary = frame.groupby("k").agg(spearman_mean=("spearman", "mean"), spearman_sd=("spearman", "std"),
                                     kendall_mean=("kendall", "mean"), repeats=("repeat", "count"),
                                     n_test=("n_test", "min")).reset_index()
    return summary.fillna({"spearman_sd": 0.0})
