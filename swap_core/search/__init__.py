"""Search algorithms as stoppable generators of SearchState (see DESIGN.md and base.py);
`list_algorithms()` / `get_algorithm(name)` is how the app and the CLI find them."""
from .base import Budget, Evaluation, SearchGenerator, SearchState, best_of, run_to_end
from .objectives import proxy_scorer
from .random_search import random_search
from .registry import AlgorithmInfo, get_algorithm, list_algorithms, register_algorithm

register_algorithm("random", random_search, "Random search",
                   "Sample architectures at random, score each with the objective, keep the best "
                   "(with the NASWOT proxy this is NASWOT's search, Mellor et al., ICML 2021).")

__all__ = ["AlgorithmInfo", "Budget", "Evaluation", "SearchGenerator", "SearchState", "best_of", "get_algorithm",
           "list_algorithms", "proxy_scorer", "random_search", "register_algorithm", "run_to_end"]
