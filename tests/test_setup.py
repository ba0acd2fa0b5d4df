"""One Setup, one set of numbers (issue 17): a cell's SWAP, NASWOT and regularised SWAP are
the same through every path that shows them — the Cell Designer's (`explorer.score_rows`),
the Activation Patterns page's (`activation_views`), `python -m swap_core score` and a search
evaluation (`objectives.build_objective`) — for every registered space; weights never come
from torch's global generator, so threads scoring at once get what each gets alone."""
import csv
import math
import threading

import pytest
import torch

from swap_core import activation_views as views
from swap_core import explorer
from swap_core.cli import main
from swap_core.patterns import count_sample_wise_patterns, train_mode
from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA, size_factor
from swap_core.search.objectives import build_objective
from swap_core.setup import Setup
from swap_core.spaces import list_spaces

NAMES = ["swap", "naswot", "reg_swap"]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])  # scripts/gpu_check.sh runs both


def sample_arch(space: str, k: int = 0) -> str:
    return explorer.sample_architectures(Setup(space=space).space_obj, k + 1, seed=11)[k]


def test_setup_checks_its_fields_and_is_a_cache_key():
    setup = Setup(space="nb301", batch=16)
    assert setup.space == "darts" and setup.dataset == "cifar10" and setup.device == "cpu"
    assert hash(setup) == hash(Setup(space="darts", batch=16)) and setup.key == Setup(space="darts", batch=16).key
    for bad, match in (({"space": "nb999"}, "search space"), ({"dataset": "mnist"}, "dataset"),
                       ({"preset": "huge"}, "preset"), ({"images": "webcam"}, "image source"),
                       ({"batch": 0}, "batch"), ({"batch": 10**6}, "batch"), ({"seed": -1}, "seed"),
                       ({"threads": 0}, "threads"), ({"device": "tpu"}, "device"), ({"order": "last"}, "order")):
        with pytest.raises(ValueError, match=match):
            Setup(**bad)


def test_cli_args_parse_back_into_the_same_setup():
    from swap_core.cli import build_parser, setup_from_args

    setup = Setup(space="tnb101_micro", dataset="jigsaw", preset="benchmark", images="noise", order="first",
                  batch=24, seed=7)
    args = build_parser().parse_args(["score", *setup.cli_args(), "--archs", "x", "--out", "y"])
    assert setup_from_args(args) == setup


@pytest.mark.parametrize("space", list_spaces())
def test_network_is_seeded_per_cell_and_leaves_the_global_generator_alone(space):
    setup, arch = Setup(space=space, batch=8, images="noise"), sample_arch(space)
    before = torch.random.get_rng_state()
    first, second = setup.network(arch), setup.network(arch)
    assert torch.equal(before, torch.random.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    other = setup.replace(seed=1).network(arch)
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), other.state_dict().values()))
    assert setup.cell_seed(arch) == setup.replace(batch=64, images="auto").cell_seed(arch)  # weights: not the data
    assert setup.params(arch) == sum(p.numel() for p in first.parameters())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("space", list_spaces())
def test_same_numbers_through_every_path(space, device, tmp_path):
    setup = Setup(space=space, batch=16, images="noise", seed=3, device=device)
    arch = sample_arch(space, 1)
    designer = next(explorer.score_rows(setup, [arch], NAMES))  # the Cell Designer and Proxy Lab path
    assert all(math.isfinite(designer[n]) for n in NAMES), designer["errors"]

    # the Activation Patterns page: SWAP's N(0, 1) weights and the NASWOT kernel on the default weights
    images = setup.inputs().images.to(device)
    model = views.build_network(setup, arch, init="gaussian")
    with train_mode(model):
        assert count_sample_wise_patterns(model, images) == designer["swap"]
    assert views.naswot_view(views.build_network(setup, arch), images).logdet == pytest.approx(designer["naswot"],
                                                                                               rel=1e-12)

    # `python -m swap_core score` with the same Setup's flags
    archs, out = tmp_path / "archs.txt", tmp_path / "scores.csv"
    archs.write_text(arch + "\n")
    assert main(["score", *setup.cli_args(), "--proxies", ",".join(NAMES), "--archs", str(archs),
                 "--out", str(out)]) == 0
    row = next(csv.DictReader(out.open()))
    assert all(float(row[n]) == pytest.approx(designer[n], rel=1e-9) for n in NAMES)

    # a search evaluation
    assert build_objective(setup, "swap")(arch)[0] == designer["swap"]
    assert build_objective(setup, "naswot")(arch)[0] == designer["naswot"]
    regularised, _, metrics = build_objective(setup, "reg_swap")(arch)
    assert regularised == designer["reg_swap"]
    assert metrics["size_k"] == setup.size_k(arch)  # Θ: the benchmark network, everywhere
    assert regularised == designer["swap"] * size_factor(setup.size_k(arch), DEFAULT_MU, DEFAULT_SIGMA)


def test_reg_swap_sizes_the_benchmark_network_whatever_network_runs():
    teaching, benchmark = Setup(batch=16, images="noise"), Setup(batch=16, images="noise", preset="benchmark")
    arch = sample_arch("nb201")
    assert teaching.size_k(arch) == benchmark.size_k(arch) > 10 * teaching.params(arch) / 1e3
    scores = teaching.score(arch, ["swap", "reg_swap"])
    assert scores["reg_swap"] == scores["swap"] * size_factor(benchmark.size_k(arch))


@pytest.mark.parametrize("device", DEVICES)
def test_eight_threads_scoring_at_once_get_what_each_gets_alone(device):
    """Scoring seeded torch's global generator before (14 of 16 concurrent scorings differed);
    now every draw comes from a generator of the cell's own."""
    setup = Setup(batch=16, images="noise", device=device)
    archs = explorer.sample_architectures(setup.space_obj, 8, seed=5)
    names = ["swap", "reg_swap", "naswot", "zen", "grad_norm", "snip", "linear_regions"]
    alone = {arch: dict(setup.score(arch, names)) for arch in archs}
    together: dict[str, list[dict]] = {}
    barrier = threading.Barrier(len(archs))

    def work(arch: str) -> None:
        barrier.wait()
        together[arch] = [dict(setup.score(arch, names)) for _ in range(2)]

    threads = [threading.Thread(target=work, args=(arch,)) for arch in archs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == {arch: [alone[arch]] * 2 for arch in archs}
