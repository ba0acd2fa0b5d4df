"""fetch-data converters, checked with local file:// round trips.

NASLib-format inputs are built at test time from rows of the reference data, with an
inverse written here; known NASLib keys (copied from the public zc_*.json files) pin the
key → string mapping independently of that inverse.
"""
import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import require_file
from swap_core import fetch
from test_data import write_fake_cifar10_archive

# (space, task, NASLib key, its val_accuracy and flops in NASLib's public zc_*.json)
KNOWN_KEYS = [
    ("nb201", "cifar10", "(4, 0, 4, 1, 2, 0)", 83.62, 46.343872),
    ("nb201", "imagenet16-120", "(0, 2, 3, 2, 3, 1)", 32.20000001017252, 22.084672),
    ("nb301", "cifar10", "[[(0, 5), (1, 0), (2, 1), (0, 2), (3, 2), (0, 3), (1, 0), (3, 5)], "
                         "[(1, 1), (0, 2), (0, 5), (1, 0), (0, 6), (2, 2), (4, 6), (0, 0)]]", 92.70126852631452, 126.252544),
    ("nb101", "cifar10", "(0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, "
                         "0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 2, 2, 2, 1)",
     90.55488705635071, 691.803136),
    ("tnb101_micro", "jigsaw", "(1, 0, 0, 2, 1, 0)", 80.18013763427734, 21.101056),
    ("tnb101_macro", "normal", "(1, 2, 4, 2, 0, 0)", 0.5746892690658569, 37131.71456),
]


@pytest.mark.parametrize("space,task,key,accuracy,flops", KNOWN_KEYS)
def test_known_naslib_keys_name_the_reference_rows(space, task, key, accuracy, flops):
    table = pd.read_csv(require_file(f"zc/{space}_{task}.csv")).set_index("arch")
    row = table.loc[fetch.naslib_key_to_arch(space, key)]
    assert row["val_accuracy"] == accuracy and row["flops"] == flops


def test_known_strings():
    assert fetch.naslib_key_to_arch("nb201", "(4, 0, 4, 1, 2, 0)") == (
        "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|")
    assert fetch.naslib_key_to_arch("tnb101_micro", "(1, 0, 0, 2, 1, 0)") == "64-41414-1_00_210"
    assert fetch.naslib_key_to_arch("tnb101_macro", "(1, 2, 4, 2, 0, 0)") == "64-1242-basic"
    for space, key in [("nb201", "(5, 0, 0, 0, 0, 0)"), ("nb201", "(1, 2)"), ("tnb101_micro", "(4, 0, 0, 0, 0, 0)")]:
        with pytest.raises(ValueError, match="unexpected NASLib key"):
            fetch.naslib_key_to_arch(space, key)


# --- inverse of the converters, to build NASLib-format input from reference rows ----------------

def naslib_key(space: str, arch: str) -> str:
    if space == "nb201":
        ops = [fetch.NB201_OPS.index(op) for op in re.findall(r"(\w+)~\d", arch)]
        return str(tuple(ops[i] for i in (0, 1, 3, 2, 4, 5)))
    if space == "nb301":
        pairs = [(int(node), fetch.DARTS_OPS.index(op)) for op, node in re.findall(r"\('(\w+)', (\d)\)", arch)]
        return str([pairs[:8], pairs[8:]])
    if space == "nb101":
        spec = json.loads(arch)
        return str(tuple([v for row in spec["matrix"] for v in row] + [fetch.NB101_OPS.index(o) for o in spec["ops"]]))
    digits = [int(d) for d in arch.split("-")[-1 if space == "tnb101_micro" else 1] if d.isdigit()]
    return str(tuple(digits + [0] * (6 - len(digits))))


def naslib_json(space: str, tables: dict[str, pd.DataFrame], nested: bool) -> dict:
    """NASLib's two layouts: {space: {task: {key: {proxy: float}}}} (nb101, first releases) and
    {task: {key: {proxy: {"score", "time"}}}} (later releases; task ImageNet16-120)."""
    out = {}
    for task, table in tables.items():
        records = {}
        for row in table.to_dict("records"):
            key = naslib_key(space, row["arch"])
            values = {c: v for c, v in row.items() if c != "arch" and not pd.isna(v)}
            records[key] = values if nested else {"idx": "0", "arch": key, **{
                c: v if c == "val_accuracy" else {"score": v, "time": 0.5} for c, v in values.items()}}
        out["ImageNet16-120" if task == "imagenet16-120" else task] = records
    return {f"nasbench{space[2:]}": out} if nested else out


@pytest.mark.parametrize("space,item,tasks,nested", [
    ("nb201", "zc_nasbench201", ["cifar10", "cifar100", "imagenet16-120"], False),
    ("nb301", "zc_nasbench301", ["cifar10"], False),
    ("nb101", "zc_nasbench101", ["cifar10"], True),
    ("tnb101_micro", "zc_transbench101_micro", ["jigsaw", "normal"], False),
    ("tnb101_macro", "zc_transbench101_macro", ["class_scene", "segmentsemantic"], False),
])
def test_zc_json_round_trip(tmp_path, space, item, tasks, nested):
    reference = {t: pd.read_csv(require_file(f"zc/{space}_{t}.csv"), dtype={"arch": str}).head(25) for t in tasks}
    source = tmp_path / f"{item}.json"
    source.write_text(json.dumps(naslib_json(space, reference, nested)))
    written = fetch.fetch_data(tmp_path / "out", sources={item: source.as_uri()}, items=[item])
    assert sorted(written) == sorted(str(tmp_path / "out" / f"zc/{space}_{t}.csv") for t in tasks)
    for task, expected in reference.items():
        result = pd.read_csv(tmp_path / "out" / f"zc/{space}_{task}.csv", dtype={"arch": str})
        pd.testing.assert_frame_equal(result, expected, check_exact=True)


def test_nats_bench_round_trip(tmp_path):
    reference = pd.read_csv(require_file("nb201_accuracy.csv")).head(40)
    original = pd.DataFrame({"CIFAR10TestAccuracy200Epochs": reference["cifar10_test"],
                             "CIFAR100TestAccuracy200Epochs": reference["cifar100_test"],
                             "ImageNetTestAccuracy200Epochs": reference["imagenet16_120_test"],
                             "ArchitectureString": reference["arch"], "UniqueString": "not used"})
    original.to_csv(tmp_path / "nats_bench.csv", index=False)
    fetch.fetch_data(tmp_path / "out", sources={"nats_bench": (tmp_path / "nats_bench.csv").as_uri()},
                     items=["nats_bench"])
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "nb201_accuracy.csv"), reference, check_exact=True)


def test_swap_darts_round_trip(tmp_path):
    reference = pd.read_csv(require_file("darts1000_cifar10.csv")).head(30)
    reference.to_csv(tmp_path / "DARTS_archs_CIFAR10.csv", index=False, header=False)  # SWAP's file has no header
    fetch.fetch_data(tmp_path / "out", sources={"swap_darts": (tmp_path / "DARTS_archs_CIFAR10.csv").as_uri()},
                     items=["swap_darts"])
    result = pd.read_csv(tmp_path / "out" / "darts1000_cifar10.csv")
    pd.testing.assert_frame_equal(result, reference, check_exact=True)


def test_cifar10_sample_from_fake_archive(tmp_path):
    archive = write_fake_cifar10_archive(tmp_path / "FAKE-cifar-10-python.tar.gz", per_batch=940)
    written = fetch.fetch_data(tmp_path / "out", sources={"cifar10": archive.as_uri()}, items=["cifar10"],
                               checksums={"cifar10": None}, cache_dir=tmp_path / "cache")
    assert written == [str(tmp_path / "out" / "cifar10_sample.npz")]
    assert (tmp_path / "cache" / "cifar-10-python.tar.gz").read_bytes() == archive.read_bytes()
    with np.load(written[0]) as sample:
        assert sample["train_x"].shape == (4660, 3, 32, 32) and sample["test_x"].shape == (846, 3, 32, 32)
        assert sample["train_x"].dtype == np.uint8 and sample["train_y"].dtype == np.uint8
        i = np.arange(932)
        for b in range(5):  # first 932 images of each training batch, in file order
            block = slice(932 * b, 932 * (b + 1))
            assert (sample["train_x"][block, 2, 31, 31] == (i + 40 * b) % 256).all()
            assert (sample["train_y"][block] == (i + b) % 10).all()
        assert (sample["test_x"][:, 0, 0, 0] == (np.arange(846) + 200) % 256).all()


def test_checksum_mismatch_leaves_nothing(tmp_path):
    source = tmp_path / "DARTS_archs_CIFAR10.csv"
    source.write_text("\"Genotype(...)\",1.0\n")
    with pytest.raises(fetch.ChecksumError, match="expected 0{64}"):
        fetch.fetch_data(tmp_path / "out", sources={"swap_darts": source.as_uri()}, items=["swap_darts"],
                         checksums={"swap_darts": "0" * 64})
    assert list((tmp_path / "out").iterdir()) == []


def test_errors_and_defaults(tmp_path):
    with pytest.raises(ValueError, match="unknown fetch item"):
        fetch.fetch_data(tmp_path, items=["imagenet"])
    with pytest.raises(fetch.DownloadError, match="could not download"):
        fetch.fetch_data(tmp_path, sources={"swap_darts": (tmp_path / "absent.csv").as_uri()}, items=["swap_darts"])
    for name, item in fetch.ITEMS.items():
        assert item.url.startswith("https://") and re.fullmatch(r"[0-9a-f]{64}", item.sha256), name


def test_a_cached_archive_is_checked_before_use(tmp_path):
    """fetch-data keeps the CIFAR-10 archive in the cache; the next run checks it against the pin
    before converting it, and a damaged one is refused and left for the user to delete."""
    (tmp_path / "cache").mkdir()
    archive = write_fake_cifar10_archive(tmp_path / "cache" / "cifar-10-python.tar.gz", per_batch=10)
    with pytest.raises(fetch.ChecksumError, match="cached CIFAR-10 archive .* Delete it"):
        fetch.fetch_data(tmp_path / "out", items=["cifar10"], cache_dir=tmp_path / "cache")
    assert archive.is_file() and not (tmp_path / "out" / "cifar10_sample.npz").exists()
