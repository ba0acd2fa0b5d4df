"""Search algorithms as stoppable generators of SearchState (see DESIGN.md and base.py);
`list_algorithms()` / `get_algorithm(name)` is how the app and the CLI find them."""
from .base import Budget, Evaluation, SearchGenerator, SearchState, best_of, run_to_end, score_key
from .efficiency import Constraint, parse_constraint
from .evolution import area, rea
from .hnas_search import hnas
from .objectives import build_objective, objective_batch_size, objective_names, proxy_scorer
from .random_search import random_search
from .registry import AlgorithmInfo, get_algorithm, list_algorithms, register_algorithm
from .swap_nas import swap_nas

register_algorithm("random", random_search, "Random search",
                   "Sample architectures at random, score each with the objective, keep the best "
                   "(with the NASWOT proxy this is NASWOT's search, Mellor et al., ICML 2021).")
register_algorithm("naswot", random_search, "NASWOT",
                   "NASWOT's search (Mellor et al., Neural Architecture Search without Training, ICML 2021): "
                   "score N random architectures with the NASWOT proxy, return the best.", objective="naswot")
register_algorithm("swap-nas", swap_nas, "SWAP-NAS",
                   "SWAP-NAS evolution (Peng et al., ICLR 2024): a random population scored with (regularised) "
                   "SWAP; each cycle the best of S sampled members, or the crossover of the best two if it scores "
                   "higher, is mutated M times; the best child joins and the worst member leaves.",
                   population=10, sample_size=5, mutations=5, patience=10)
register_algorithm("rea", rea, "REA",
                   "Regularised evolution (Real et al., AAAI 2019): tournament selection and aging; training "
                   "is a lookup of the benchmark's accuracy. The budget counts lookups.",
                   uses_truth=True, uses_proxy=False, population=10, sample_size=3)
register_algorithm("area", area, "Assisted REA",
                   "AREA (Mellor et al., ICML 2021): score the budget's random architectures with the proxy, "
                   "train (look up) the top N as REA's first population, then REA up to `lookups` trainings.",
                   uses_truth=True, objective="naswot", population=10, sample_size=3, lookups=100)
register_algorithm("hnas", hnas, "HNAS",
                   "HNAS (Shu et al., NeurIPS 2022): rank a pool by μ·|M² − ν| + κ/M (NTK trace norm M, "
                   "condition number κ) with (μ, ν) chosen by Bayesian optimisation on looked-up accuracy.",
                   uses_truth=True, objective="hnas", lookups=20, initial=4, candidates=512)

__all__ = ["AlgorithmInfo", "Budget", "Constraint", "Evaluation", "SearchGenerator", "SearchState", "area", "best_of",
           "build_objective", "get_algorithm", "hnas", "list_algorithms", "objective_batch_size", "objective_names",
           "parse_constraint", "proxy_scorer", "random_search", "rea", "register_algorithm", "run_to_end",
           "score_key", "swap_nas"]
