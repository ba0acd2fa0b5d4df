"""A few-shot learned performance predictor: gradient-boosted trees on graph features and
zero-cost scores, trained on k architectures whose trained accuracy is known.

This is *not* a training-free proxy: it uses k trained accuracies (the `--k` rows of the
training file), and every output says so. It answers "given k trained cells, how well can
the rest be ranked?", the setting of NAS-Bench-Suite-Zero's XGBoost predictor
(Krishnakumar et al., NeurIPS 2022 D&B; NASLib `zerocost` branch, PlotXGBCorrelations: zero-cost
columns in, ρ on held-out cells, 0.941 on NB201 CIFAR-10) and of GRAF (Kadlecová et al.,
"Surprisingly Strong Performance Prediction with Neural Graph Features", ICML 2024;
gabikadlecova/GRAF, `graf_nas/features/base.py` and `configs/*.json`).

Features of one architecture (`features`):

- **graph features** (`graph_features`), from the cell of the space's architecture object,
  after GRAF: op counts per op; op counts of the *effective* ops (those on some input→output
  path; GRAF drops cells with dead branches instead, we count them); the shortest and longest
  input→output path using only the ops of each op group (GRAF's `min_path_len` and
  `max_op_on_path`, over every non-empty subset of the non-`none` ops in NB201 and
  TransNAS-Bench-101 micro — as GRAF's "product" mode — and over a fixed list of groups in DARTS,
  where GRAF's 127 subsets per cell would be most of the table); the most parameterised ops
  on one input→output path; the number of input→output paths, of skip-only paths, of paths
  with no parameterised op; the out-degree of the input, the in-degree of the output, the mean
  degree; whether the output is disconnected from the input. DARTS: per cell (normal_,
  reduce_), the two cell inputs joined by a virtual source, the concatenation as the sink.
  Spaces without a cell of edge ops (NAS-Bench-101, TransNAS-Bench-101 macro) get op counts of
  their graph only.
- **zero-cost features**: either the NAS-Bench-Suite-Zero columns a zc file holds
  (`ZC_FILE_COLUMNS`, as the benchmark's own XGBoost predictor), or our proxies computed with
  `Setup` through `explorer.score_row` (cached in the score store) plus the benchmark network's
  parameters and FLOPs. **Rule** (`zero_cost_source`): file columns are used only when both the
  training and the test file hold them; then only the columns with a value in every row of
  both (so `zen`, empty in every zc file, is never one). Otherwise our proxies for all rows,
  so training and test rows always carry the same features.

Protocol (`predict`): `k` training rows drawn from the training file by `seed`
(`random.Random(seed)`, no global RNG); test rows = the test file minus every architecture of
the training set (asserted), optionally `test_sample` of them drawn by the seed. Architecture
strings are compared in the space's canonical form.

Model: LightGBM 4.7.0 `lightgbm.train`, 400 rounds of regression on the training rows' accuracy
with the Huber loss (`DEFAULT_PARAMS`: 15 leaves, shrinkage 0.05, 80 % row and 70 % feature
subsampling, L2 1.0, `min_data_in_leaf` = k/40 within 2..10 so k = 10 can still split, Huber
threshold 0.3 robust standard deviations of the training targets). These are fixed defaults,
not tuned per run. They were chosen once by 5-fold cross-validation *inside training rows*
(`cv_score`; NB201 CIFAR-10, graph features, training draws of seeds 100-102 at k = 25, 100,
400): the Huber loss beat squared error (CV ρ 0.971 vs 0.939 at k = 400, 0.91 vs 0.89 at
k = 50) because the few cells that do not learn (~10 % accuracy) pull squared-error trees;
with squared error, 7 or 31 leaves or shrinkage 0.02 changed CV ρ by ≤ 0.005 and no feature
subsampling lost 0.012; with Huber, a fixed min_data_in_leaf of 5 hurt at k = 50 (0.84 vs 0.90),
hence the scaling with k. No test row was used for any choice. `deterministic=True`, `force_row_wise=True`, `num_threads` explicit (1 by default),
`seed` = the protocol's seed: the same seed gives the same predictions.
"""
from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import benchmarks
from .spaces import SearchSpace, get_space

USES = "uses {k} trained accuracies"  # every output says it; never mixed with training-free proxies
ZC_FILE_COLUMNS = ("flops", "params", "synflow", "snip", "grasp", "fisher", "grad_norm", "jacov", "nwot",
                   "epe_nas", "l2_norm", "plain", "zen")
# Our proxies when the files lack zero-cost columns: cheap on the teaching network and, together
# with the benchmark network's size, the NAS-Bench-Suite-Zero set minus the slow ones (grasp, fisher).
DEFAULT_PROXIES = ("synflow", "jacob_cov", "naswot", "snip", "grad_norm", "zen")
SIZE_FEATURES = ("benchmark params (M)", "benchmark FLOPs (M)")
FEATURE_SETS = ("graph", "zc", "graph+zc")
# Fixed before any test row was seen (module docstring); min_data_in_leaf is set from k.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "huber", "learning_rate": 0.05, "num_leaves": 15, "max_depth": -1,
    "feature_fraction": 0.7, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "min_data_in_bin": 1, "min_sum_hessian_in_leaf": 1e-3, "feature_pre_filter": False, "verbose": -1,
}
DEFAULT_ROUNDS = 400
# Huber loss (robust to the few cells that do not learn, ~10 % accuracy in NB201) with its
# threshold at this many robust standard deviations of the training targets, so the same
# setting means the same on accuracies in % or in [0, 1].
HUBER_SCALE = 0.3


# --------------------------------------------------------------------------- graph features
def _is_param(op: str) -> bool:
    return "conv" in op


def _is_skip(op: str) -> bool:
    return op == "skip_connect"


@dataclass(frozen=True)
class EdgeCell:
    """A cell with ops on edges: `edges` (source, target, op) of a DAG whose nodes are listed in
    topological order in `nodes`; structural edges carry op None (they count as no op: a
    virtual source's links to the inputs, DARTS's concatenation)."""

    nodes: tuple
    edges: tuple[tuple[Any, Any, str | None], ...]
    source: Any
    sink: Any
    ops: tuple[str, ...]  # every op name the space can put on an edge (for the count columns)
    groups: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (label, op names) for path features


def _paths(cell: EdgeCell, allowed: Callable[[str | None], bool], weight: Callable[[str | None], float]):
    """(number of source→sink paths, shortest and longest path weight; None if none) over the
    edges whose op is allowed (structural edges always are)."""
    count = {n: 0 for n in cell.nodes}
    short = {n: math.inf for n in cell.nodes}
    long = {n: -math.inf for n in cell.nodes}
    count[cell.source], short[cell.source], long[cell.source] = 1, 0.0, 0.0
    incoming: dict[Any, list] = {n: [] for n in cell.nodes}
    for u, v, op in cell.edges:
        if op is None or (op != "none" and allowed(op)):
            incoming[v].append((u, op))
    for node in cell.nodes:
        for u, op in incoming[node]:
            if count[u]:
                w = 0.0 if op is None else weight(op)
                count[node] += count[u]
                short[node] = min(short[node], short[u] + w)
                long[node] = max(long[node], long[u] + w)
    if not count[cell.sink]:
        return 0, None, None
    return count[cell.sink], short[cell.sink], long[cell.sink]


def _effective(cell: EdgeCell) -> list[tuple[Any, Any, str | None]]:
    """The non-`none` edges on some source→sink path."""
    live = [(u, v, op) for u, v, op in cell.edges if op != "none"]
    forward, backward = {cell.source}, {cell.sink}
    for node in cell.nodes:
        if any(v == node and u in forward for u, v, _ in live):
            forward.add(node)
    for node in reversed(cell.nodes):
        if any(u == node and v in backward for u, v, _ in live):
            backward.add(node)
    return [(u, v, op) for u, v, op in live if u in forward and v in backward]


def edge_cell_features(cell: EdgeCell, prefix: str = "") -> dict[str, float]:
    """GRAF-like features of one edge-op cell (see the module docstring)."""
    real = [(u, v, op) for u, v, op in cell.edges if op is not None]
    out: dict[str, float] = {}
    for op in cell.ops:
        out[f"count_{op}"] = sum(1 for _, _, o in real if o == op)
    effective = [(u, v, op) for u, v, op in _effective(cell) if op is not None]
    for op in cell.ops:
        if op != "none":
            out[f"effective_{op}"] = sum(1 for _, _, o in effective if o == op)
    n_paths, shortest, longest = _paths(cell, lambda op: True, lambda op: 1.0)
    out["disconnected"] = float(n_paths == 0)
    out["n_paths"] = n_paths
    out["depth"] = longest or 0.0
    out["min_path"] = shortest if shortest is not None else len(real) + 1
    _, _, most = _paths(cell, lambda op: True, lambda op: float(_is_param(op)))
    out["param_ops_on_longest_path"] = most or 0.0
    out["n_skip_only_paths"] = _paths(cell, _is_skip, lambda op: 1.0)[0]
    out["n_param_free_paths"] = _paths(cell, lambda op: not _is_param(op), lambda op: 1.0)[0]
    out["n_param_paths"] = n_paths - out["n_param_free_paths"]
    live = [(u, v) for u, v, op in real if op != "none"]
    inputs = {cell.source} | {v for u, v, op in cell.edges if u == cell.source and op is None}
    out["out_degree_input"] = sum(1 for u, _, op in real if u in inputs and op != "none")
    out["in_degree_output"] = sum(1 for u, v, op in cell.edges if v == cell.sink and op != "none")
    out["mean_degree"] = len(live) / max(len(cell.nodes), 1)
    for label, ops in cell.groups:
        chosen = set(ops)
        _, shortest, longest = _paths(cell, lambda op, c=chosen: op in c, lambda op: 1.0)
        out[f"min_path[{label}]"] = shortest if shortest is not None else len(real) + 1
        out[f"max_path[{label}]"] = longest if longest is not None else 0.0
    return {prefix + key: float(value) for key, value in out.items()}


def _subset_groups(ops: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every non-empty subset of the non-`none` ops (GRAF's "product" mode)."""
    real = [op for op in ops if op != "none"]
    return tuple(("+".join(c), c) for r in range(1, len(real) + 1) for c in itertools.combinations(real, r))


def _nb201_cell(space: SearchSpace, arch: Any) -> list[tuple[str, EdgeCell]]:
    from .spaces.nb201_net import EDGES

    edges = tuple((u, v, op) for op, (u, v) in zip(arch.ops, EDGES))
    return [("", EdgeCell((0, 1, 2, 3), edges, 0, 3, tuple(space.ops), _subset_groups(space.ops)))]


def _tnb101_micro_cell(space: SearchSpace, arch: Any) -> list[tuple[str, EdgeCell]]:
    from .spaces.tnb101_micro import EDGES, OPS

    edges = tuple((u, v, OPS[d]) for d, (u, v) in zip(arch.cell, EDGES))
    return [("", EdgeCell((0, 1, 2, 3), edges, 0, 3, OPS, _subset_groups(OPS)))]


def _darts_groups(ops: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    real = [op for op in ops if op != "none"]
    convs = tuple(op for op in real if _is_param(op))
    pools = tuple(op for op in real if "pool" in op)
    groups = [(op, (op,)) for op in real]
    groups += [("convs", convs), ("pools", pools), ("convs+skip", convs + ("skip_connect",)),
               ("pools+skip", pools + ("skip_connect",)), ("all", tuple(real))]
    return tuple(groups)


def _darts_cells(space: SearchSpace, arch: Any) -> list[tuple[str, EdgeCell]]:
    cells = []
    for name in ("normal", "reduce"):
        pairs, concat = getattr(arch, name), getattr(arch, f"{name}_concat")
        nodes = ("src", 0, 1, 2, 3, 4, 5, "out")
        edges = [("src", 0, None), ("src", 1, None)]
        edges += [(index, position // 2 + 2, op) for position, (op, index) in enumerate(pairs)]
        edges += [(node, "out", None) for node in concat]
        cells.append((f"{name}_", EdgeCell(nodes, tuple(edges), "src", "out", tuple(space.ops),
                                           _darts_groups(space.ops))))
    return cells


CELL_BUILDERS: dict[str, Callable[[SearchSpace, Any], list[tuple[str, EdgeCell]]]] = {
    "nb201": _nb201_cell, "darts": _darts_cells, "tnb101_micro": _tnb101_micro_cell}


def graph_features(space: SearchSpace | str, arch: Any) -> dict[str, float]:
    """The graph features of `arch` (an object or a string) in `space` (module docstring)."""
    space = get_space(space) if isinstance(space, str) else space
    arch = space.from_str(arch) if isinstance(arch, str) else arch
    builder = CELL_BUILDERS.get(space.name)
    if builder is not None:
        out: dict[str, float] = {}
        for prefix, cell in builder(space, arch):
            out.update(edge_cell_features(cell, prefix))
        return out
    # fallback: op counts of the space's graph (ops on nodes or on edges)
    g = space.graph(arch)
    ops = [d.get("op") for _, d in g.nodes(data=True)] + [d.get("op") for _, _, d in g.edges(data=True)]
    out = {f"count_{op}": 0.0 for op in space.ops}
    for op in ops:
        if isinstance(op, str) and op in out:
            out[f"count_{op}"] += 1.0
    out["n_nodes"], out["n_edges"] = float(g.number_of_nodes()), float(g.number_of_edges())
    return out


# --------------------------------------------------------------------------- data
@dataclass
class Table:
    """Rows of an architecture file: canonical arch strings, their target (NaN if none) and
    the file's zero-cost columns (those it holds)."""

    spec: str
    archs: list[str]
    target: np.ndarray
    target_column: str | None
    zc: pd.DataFrame  # index = arch, columns = the ZC_FILE_COLUMNS the file holds


def read_table(spec: str, space: SearchSpace, need_target: bool) -> Table:
    """A file (or data-dir name) with column `arch`, optionally `FILE:COLUMN` for the target
    (default as `benchmarks.truth_table`: `cifar10_test` for nb201_accuracy.csv, else
    `val_accuracy`). ValueError, one line, for a missing file, column or a bad architecture."""
    file, column = benchmarks._split_spec(spec)
    path = benchmarks.resolve_file(file)
    table = benchmarks.read_table(path)
    if "arch" not in table.columns:
        raise ValueError(f"{spec}: no 'arch' column (it has {list(table.columns)[:12]})")
    column = benchmarks._default_column(file, column)
    if column not in table.columns:
        if need_target or benchmarks._split_spec(spec)[1]:
            raise ValueError(f"{spec}: no column {column!r} of trained accuracies (it has {list(table.columns)[:16]}); "
                             "give FILE:COLUMN")
        column = None
    archs = []
    for number, text in enumerate(table["arch"].astype(str), start=2):
        try:
            archs.append(space.from_str(text).to_str())
        except ValueError as error:
            raise ValueError(f"{spec}: line {number}: not a {space.name} architecture ({error}); "
                             "is --space right?") from None
    target = (pd.to_numeric(table[column], errors="coerce").to_numpy(float) if column
              else np.full(len(archs), np.nan))
    zc = table[[c for c in ZC_FILE_COLUMNS if c in table.columns]].copy()
    zc.index = archs
    keep = ~np.isnan(target) if column else np.ones(len(archs), bool)
    if column and not keep.any():
        raise ValueError(f"{spec}: column {column!r} has no values")
    seen: set[str] = set()
    unique = np.array([not (a in seen or seen.add(a)) for a in archs])  # first row of a repeated arch
    keep &= unique
    return Table(spec, [a for a, k in zip(archs, keep) if k], target[keep], column, zc[keep])


def zero_cost_source(train: Table, test: Table) -> list[str]:
    """The zc-file columns both tables hold with a value in every row; empty: use our proxies."""
    return [c for c in ZC_FILE_COLUMNS
            if c in train.zc.columns and c in test.zc.columns
            and train.zc[c].notna().all() and test.zc[c].notna().all()]


@dataclass
class ProxyFeatures:
    """Our zero-cost features: `proxies` on `preset`'s network (batch, seed, data as `Setup`),
    stored in the score store, plus the benchmark network's size."""

    space: str
    dataset: str | None = None
    preset: str = "teaching"
    proxies: tuple[str, ...] = DEFAULT_PROXIES
    batch: int | None = 64
    seed: int = 0
    images: str = "auto"
    threads: int | None = 1  # part of the Setup (and so of the store's key); the CLI fixes torch's count to it
    store: Any = None  # a ScoreStore, or None: `ScoreStore()` (the default path / $SWAP_EXPLORER_STORE)
    seconds: float = 0.0
    computed: int = 0  # cells whose proxies were computed (seconds: their time)
    stored: int = 0  # cells whose proxies all came from the score store
    cache: dict = field(default_factory=dict)

    def __call__(self, archs: Sequence[str], progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        from .explorer import score_row
        from .setup import Setup
        from .store import ScoreStore

        setup = Setup(space=self.space, dataset=self.dataset, preset=self.preset, images=self.images,
                      batch=self.batch, seed=self.seed, device="cpu", threads=self.threads)
        store = self.store if self.store is not None else ScoreStore()
        rows = []
        for done, arch in enumerate(archs, start=1):
            if arch not in self.cache:
                fresh = bool(store.missing(setup, arch, self.proxies))  # else every score is in the store
                start = time.perf_counter()
                row = score_row(setup, arch, self.proxies, store=store)
                spent = time.perf_counter() - start
                self.seconds += spent if fresh else 0.0
                self.computed += int(fresh)
                self.stored += int(not fresh)
                self.cache[arch] = {**{n: row[n] for n in self.proxies}, **{c: row[c] for c in SIZE_FEATURES}}
            rows.append(self.cache[arch])
            if progress:
                progress(done, len(archs))
        return pd.DataFrame(rows, index=list(archs), dtype=float)


def feature_matrix(space: SearchSpace, archs: Sequence[str], kind: str, zc_columns: Sequence[str],
                   zc_tables: Sequence[Table], proxy_features: ProxyFeatures | None,
                   progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per arch: graph features and/or zero-cost features (file columns when
    `zc_columns`, else `proxy_features`)."""
    if kind not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {kind!r}; expected one of {list(FEATURE_SETS)}")
    parts = []
    if "graph" in kind:
        parts.append(pd.DataFrame([graph_features(space, a) for a in archs], index=list(archs), dtype=float))
    if "zc" in kind:
        if zc_columns:
            pooled = pd.concat([t.zc[list(zc_columns)] for t in zc_tables])
            pooled = pooled[~pooled.index.duplicated()]
            parts.append(pooled.loc[list(archs)].add_prefix("zc_").astype(float))
        else:
            if proxy_features is None:
                raise ValueError("zero-cost features need our proxies here, but none were configured")
            parts.append(proxy_features(archs, progress).add_prefix("zc_"))
    return pd.concat(parts, axis=1)


# --------------------------------------------------------------------------- model
def lgb_params(k: int, seed: int, threads: int = 1, **overrides: Any) -> dict[str, Any]:
    params = {**DEFAULT_PARAMS, "min_data_in_leaf": max(2, min(10, k // 40)), "num_threads": int(threads),
              "deterministic": True, "force_row_wise": True, "seed": int(seed)}
    params.update(overrides)
    return params


def robust_scale(y: np.ndarray) -> float:
    """1.4826 × the median absolute deviation (σ for normal data); the standard deviation, or
    1, when that is 0."""
    y = np.asarray(y, float)
    scale = 1.4826 * float(np.median(np.abs(y - np.median(y)))) if len(y) else 0.0
    if not scale > 0:
        scale = float(np.std(y)) if len(y) > 1 else 0.0
    return scale if scale > 0 else 1.0


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, *, seed: int, threads: int = 1,
                rounds: int = DEFAULT_ROUNDS, **overrides: Any) -> np.ndarray:
    """LightGBM regression trained on (x_train, y_train), predictions for x_test."""
    import lightgbm as lgb

    y_train = np.asarray(y_train, float)
    params = lgb_params(len(y_train), seed, threads, **overrides)
    if params["objective"] == "huber" and "alpha" not in overrides:
        params["alpha"] = HUBER_SCALE * robust_scale(y_train)
    data = lgb.Dataset(np.asarray(x_train, float), label=np.asarray(y_train, float), params=params,
                       free_raw_data=True)
    booster = lgb.train(params, data, num_boost_round=rounds)
    return booster.predict(np.asarray(x_test, float), num_threads=int(threads))


def rank_correlations(pred: Sequence[float], truth: Sequence[float]) -> tuple[float, float]:
    from scipy.stats import kendalltau, spearmanr

    if len(pred) < 3:
        return math.nan, math.nan
    return float(spearmanr(pred, truth).statistic), float(kendalltau(pred, truth).statistic)


def cv_score(x: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0, threads: int = 1,
             rounds: int = DEFAULT_ROUNDS, **overrides: Any) -> float:
    """Mean Spearman ρ of `folds`-fold cross-validation inside the training rows only (how
    `DEFAULT_PARAMS` were chosen; no test row is touched)."""
    order = list(range(len(y)))
    random.Random(seed).shuffle(order)
    scores = []
    for f in range(folds):
        held = order[f::folds]
        kept = [i for i in order if i not in set(held)]
        pred = fit_predict(x[kept], y[kept], x[held], seed=seed, threads=threads, rounds=rounds, **overrides)
        scores.append(rank_correlations(pred, y[held])[0])
    return float(np.mean(scores))


# --------------------------------------------------------------------------- protocol
@dataclass
class Result:
    k: int
    seed: int
    features: str
    zc_source: str
    train_archs: list[str]
    test_archs: list[str]
    predictions: np.ndarray
    truth: np.ndarray
    spearman: float
    kendall: float
    n_features: int
    seconds: float

    def summary(self) -> str:
        judged = (f"Spearman ρ = {self.spearman:.4f}, Kendall τ = {self.kendall:.4f}" if not np.isnan(self.truth).all()
                  else "no ground truth to judge them on")
        return (f"predictor (LightGBM; {USES.format(k=self.k)}; features {self.features}, zero-cost from "
                f"{self.zc_source}; {self.n_features} features): {len(self.test_archs)} unseen test cells, {judged}")


def draw_train(train: Table, k: int, seed: int, exclude: Iterable[str] = ()) -> list[int]:
    """Indices of `k` training rows drawn by `seed` (from rows not in `exclude`)."""
    excluded = set(exclude)
    pool = [i for i, a in enumerate(train.archs) if a not in excluded]
    if k > len(pool):
        raise ValueError(f"--k {k} is more than the {len(pool)} rows with a trained accuracy in {train.spec}"
                         + (" (after leaving out the test cells)" if excluded else ""))
    random.Random(seed).shuffle(pool)
    return pool[:k]  # nested: the k rows of a seed are the first k of one permutation


def draw_test(test: Table, train_archs: Iterable[str], seed: int, sample: int | None) -> list[int]:
    """Indices of the test rows: every row whose arch is not a training arch, or the first
    `sample` of them in an order of the test file shuffled by `seed` (so runs whose training
    cells differ are judged on nearly the same cells)."""
    seen = set(train_archs)
    order = list(range(len(test.archs)))
    if sample is not None:
        random.Random(f"test|{seed}").shuffle(order)
    pool = [i for i in order if test.archs[i] not in seen][:sample]
    if not pool:
        raise ValueError(f"{test.spec}: every architecture is in the training set; nothing unseen to test on")
    return pool


@dataclass
class Predictor:
    """The whole protocol for one (train file, test file, space) and a feature choice."""

    space: SearchSpace
    train: Table
    test: Table
    features: str = "graph+zc"
    zc: str = "auto"  # "auto" (the rule of `zero_cost_source`), "file" (must), "proxies" (always ours)
    proxy_features: ProxyFeatures | None = None
    threads: int = 1
    rounds: int = DEFAULT_ROUNDS
    progress: Callable[[int, int], None] | None = None
    _matrix: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {self.features!r}; expected one of {list(FEATURE_SETS)}")
        columns = zero_cost_source(self.train, self.test)
        if self.zc == "file" and not columns:
            raise ValueError("--zc file: the training and test files do not both hold zero-cost columns "
                             f"({', '.join(ZC_FILE_COLUMNS)}) with a value in every row")
        if self.zc not in ("auto", "file", "proxies"):
            raise ValueError(f"--zc must be auto, file or proxies, got {self.zc!r}")
        self.zc_columns = [] if self.zc == "proxies" else columns
        if "zc" in self.features and not self.zc_columns and self.proxy_features is None:
            self.proxy_features = ProxyFeatures(self.space.name)

    @property
    def zc_source(self) -> str:
        if "zc" not in self.features:
            return "none"
        if self.zc_columns:
            return f"the files' columns ({','.join(self.zc_columns)})"
        pf = self.proxy_features
        return f"our proxies ({','.join(pf.proxies)} on the {pf.preset} network, benchmark size)"

    def matrix(self, archs: Sequence[str]) -> pd.DataFrame:
        missing = [a for a in dict.fromkeys(archs) if a not in self._matrix]
        if missing:
            frame = feature_matrix(self.space, missing, self.features, self.zc_columns, [self.train, self.test],
                                   self.proxy_features, self.progress)
            for arch, row in zip(missing, frame.to_dict("records")):
                self._matrix[arch] = row
        return pd.DataFrame([self._matrix[a] for a in archs], index=list(archs), dtype=float)

    def run(self, k: int, seed: int, test_sample: int | None = None,
            test_rows: Sequence[int] | None = None) -> Result:
        start = time.perf_counter()
        train_rows = draw_train(self.train, k, seed)
        train_archs = [self.train.archs[i] for i in train_rows]
        if test_rows is None:
            test_rows = draw_test(self.test, train_archs, seed, test_sample)
        else:
            seen = set(train_archs)
            test_rows = [i for i in test_rows if self.test.archs[i] not in seen]
        test_archs = [self.test.archs[i] for i in test_rows]
        assert not set(train_archs) & set(test_archs), "a test architecture is in the training set"
        x = self.matrix(train_archs + test_archs)
        columns = list(x.columns)
        x_train, x_test = x.iloc[: len(train_archs)].to_numpy(), x.iloc[len(train_archs):].to_numpy()
        y = self.train.target[train_rows]
        pred = fit_predict(x_train, y, x_test, seed=seed, threads=self.threads, rounds=self.rounds)
        truth = self.test.target[test_rows]
        rho, tau = rank_correlations(pred, truth) if self.test.target_column else (math.nan, math.nan)
        return Result(k, seed, self.features, self.zc_source, train_archs, test_archs, pred, truth, rho, tau,
                      len(columns), time.perf_counter() - start)


def curve(predictor: Predictor, ks: Sequence[int], repeats: int, seed: int,
          test_sample: int | None = None) -> list[dict[str, Any]]:
    """ρ per k, mean ± sd over `repeats` seeds (seed, seed+1, ...). The test pool is drawn once
    (by `seed`, from the test file minus the training cells of every run, so all runs are
    judged on the same unseen cells)."""
    runs = {(k, r): draw_train(predictor.train, k, seed + r) for k in ks for r in range(repeats)}
    seen = {predictor.train.archs[i] for rows in runs.values() for i in rows}
    test_rows = draw_test(predictor.test, seen, seed, test_sample)
    records = []
    for k in ks:
        rhos, taus = [], []
        for r in range(repeats):
            result = predictor.run(k, seed + r, test_rows=test_rows)
            rhos.append(result.spearman)
            taus.append(result.kendall)
        records.append({"k": k, "uses_trained_accuracies": k, "repeats": repeats, "n_test": len(test_rows),
                        "spearman_mean": float(np.mean(rhos)), "spearman_sd": float(np.std(rhos, ddof=1)) if repeats > 1 else 0.0,
                        "kendall_mean": float(np.mean(taus)), "kendall_sd": float(np.std(taus, ddof=1)) if repeats > 1 else 0.0,
                        "features": predictor.features, "zc_source": predictor.zc_source})
    return records


def load(space: str, train_spec: str, test_spec: str) -> tuple[SearchSpace, Table, Table]:
    space_obj = get_space(space)
    return space_obj, read_table(train_spec, space_obj, True), read_table(test_spec, space_obj, False)


def write_predictions(path: Path, result: Result) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"arch": result.test_archs, "predicted": result.predictions, "truth": result.truth,
                          "uses_trained_accuracies": result.k})
    frame.to_csv(path, index=False)


__all__ = ["DEFAULT_PARAMS", "DEFAULT_PROXIES", "EdgeCell", "FEATURE_SETS", "Predictor", "ProxyFeatures",
           "Result", "Table", "USES", "ZC_FILE_COLUMNS", "curve", "cv_score", "draw_test", "draw_train",
           "edge_cell_features", "fit_predict", "graph_features", "load", "rank_correlations", "read_table",
           "write_predictions", "zero_cost_source"]
