"""Hostile input (issue 19): generated strings for every space's parser and bad options for every
command. What must hold: a parser raises only ValueError with a short message that does not
repeat the input, within 5 s, and accepts nothing over 1 MB; a command with a bad option
exits non-zero with one line on stderr, never a traceback, before any heavy work."""
from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swap_core import cli
from swap_core.cli_helpers import read_arch_file
from swap_core.spaces import get_space, list_spaces
from swap_core.spaces.base import MAX_ARCH_CHARS, MAX_ARCH_DEPTH, MAX_ERROR_CHARS, bracket_depth, check_arch_text

ROOT = Path(__file__).resolve().parents[1]
PER_CALL_S = 5.0
ONE_MB = 1024 * 1024
ALPHABET = "|+~_-,:()[]{}'\"0123456789 \t\nabcdefghijklmnopqrstuvwxyzGNT=\\/.;<>ä€𝔘\u200b\x00"


def _mutations(example: str, rng: random.Random, count: int) -> list[str]:
    """Random edits of a valid string: delete, duplicate, insert, swap a slice, repeat a piece."""
    out = []
    for _ in range(count):
        text = example
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(text) + 1)
            j = min(len(text), i + rng.randint(0, 12))
            kind = rng.randrange(5)
            if kind == 0:
                text = text[:i] + text[j:]
            elif kind == 1:
                text = text[:i] + text[i:j] * rng.randint(2, 50) + text[j:]
            elif kind == 2:
                text = text[:i] + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))) + text[i:]
            elif kind == 3:
                text = text[:i] + text[i:j][::-1] + text[j:]
            else:
                text = text[:i] + rng.choice(["[", "{", "(", "]", "}", ")", "\"", "'", "~", "|", "+"]) + text[i:]
        out.append(text)
    return out


def _generated(space_name: str, seed: int) -> list[str]:
    rng = random.Random(f"fuzz:{space_name}:{seed}")
    example = get_space(space_name).example
    strings = ["", " ", "\n", "\x00", "None", "null", "{}", "[]", "()", "0", "-1", "nan", "1e999",
               example.upper(), example * 2, example + ",", " " * 10_000 + example]
    strings += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 300))) for _ in range(120)]
    strings += ["".join(chr(rng.randint(0x20, 0x10FFFF)) for _ in range(rng.randint(1, 60)))
                .encode("utf-8", "replace").decode("utf-8", "replace") for _ in range(30)]
    strings += _mutations(example, rng, 150)
    # deep nesting of every bracket kind, alone and wrapped around a valid string
    for opener, closer in ("[]", "{}", "()"):
        for depth in (MAX_ARCH_DEPTH + 1, 1000, 100_000):
            strings.append(opener * depth + closer * depth)
    strings.append('{"matrix":' + "[" * 5000 + "]" * 5000 + ',"ops":["input","output"]}')
    strings.append("Genotype(normal=" + "[" * 5000 + "]" * 5000 + ")")
    # huge: just over the bound, 1 MB and beyond
    strings += [example + " " * MAX_ARCH_CHARS, "x" * (MAX_ARCH_CHARS + 1), "9" * 5000,
                example * (ONE_MB // len(example) + 1), "[" * ONE_MB, "a" * (10 * ONE_MB)]
    return strings


@pytest.mark.parametrize("space_name", list_spaces())
def test_parser_survives_generated_strings(space_name):
    space = get_space(space_name)
    rejected = 0
    for text in _generated(space_name, 0):
        start = time.perf_counter()
        try:
            arch = space.from_str(text)
        except ValueError as error:
            rejected += 1
            message = str(error)
            assert 0 < len(message) <= MAX_ERROR_CHARS + 1, (space_name, text[:60], len(message))
            assert text[:200] not in message or len(text) <= 200, (space_name, "the message repeats the input")
        else:  # accepted: a real architecture, well under the bound, that prints back and parses again
            assert len(text) <= MAX_ARCH_CHARS, (space_name, len(text))
            assert space.from_str(space.to_str(arch)) == arch
        elapsed = time.perf_counter() - start
        assert elapsed < PER_CALL_S, (space_name, text[:60], elapsed)
    assert rejected > 300  # the generator really produced bad strings


@pytest.mark.parametrize("space_name", list_spaces())
def test_parser_refuses_size_and_depth_before_parsing(space_name):
    space = get_space(space_name)
    huge = space.example + " " * ONE_MB
    start = time.perf_counter()
    with pytest.raises(ValueError, match="more than the limit") as info:
        space.from_str(huge)
    assert time.perf_counter() - start < 0.5  # rejected by the length, not parsed
    assert len(str(info.value)) < 300 and "…" in str(info.value)
    with pytest.raises(ValueError, match="nested"):
        space.from_str("[" * 10_000 + space.example + "]" * 10_000)
    assert space.from_str("  " + space.example + "  ") is not None or True  # whitespace never crashes


def test_nb101_deep_json_is_a_value_error_not_recursion():
    """The issue's case: a deeply nested NB101 string raised RecursionError from json.loads."""
    nb101 = get_space("nb101")
    with pytest.raises(ValueError, match="brackets nested 20000 deep"):  # 40,000 characters: under the size bound
        nb101.from_str("[" * 20_000 + "]" * 20_000)
    with pytest.raises(ValueError, match="nested"):  # and inside a valid-looking object
        nb101.from_str('{"matrix":' + "[" * 3000 + "]" * 3000 + ',"ops":[]}')


def test_bracket_depth_and_check():
    assert bracket_depth("Genotype(normal=[('a', 0)])") == 3
    assert bracket_depth("") == 0
    assert bracket_depth(")))" + "[[[" + "]]]") == 3  # stray closers do not hide the nesting after them
    check_arch_text("(" * MAX_ARCH_DEPTH + ")" * MAX_ARCH_DEPTH)  # at the bound: passes
    with pytest.raises(ValueError, match=f"limit of {MAX_ARCH_DEPTH}"):
        check_arch_text("(" * (MAX_ARCH_DEPTH + 1))
    check_arch_text(None)  # not a string: the parser says what it expected


def test_darts_ten_megabytes_is_refused_fast_and_briefly():
    """The issue's case: 10 MB cost 1 GB and 13 s in DARTS, and the message repeated all of it."""
    darts = get_space("darts")
    text = "Genotype(normal=[" + "('sep_conv_3x3', 0), " * 500_000 + "])"
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        darts.from_str(text)
    assert time.perf_counter() - start < 0.5
    assert len(str(info.value)) < 300


# --- files -----------------------------------------------------------------------------

def test_arch_file_with_byte_order_mark(tmp_path):
    example = get_space("nb201").example
    path = tmp_path / "archs.csv"
    path.write_text(f"arch,note\n{example},x\n", encoding="utf-8-sig")  # Excel's "CSV UTF-8"
    assert list(read_arch_file(path)) == [(2, example)]


def test_arch_file_with_a_huge_field_names_file_and_line(tmp_path):
    path = tmp_path / "archs.csv"
    path.write_text("arch\n" + get_space("nb201").example + "\n\"" + "x" * 200_000 + "\"\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"archs\.csv: line \d+: cannot read the CSV"):
        list(read_arch_file(path))


# --- commands: bad options --------------------------------------------------------------

def _run(argv: list[str]) -> tuple[int, str]:
    """`cli.main(argv)` in-process: (exit code, stderr). argparse's own errors exit via SystemExit."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, err.getvalue()


@pytest.fixture()
def files(tmp_path):
    example = get_space("nb201").example
    archs = tmp_path / "archs.csv"
    archs.write_text(f"arch\n{example}\n", encoding="utf-8")
    no_arch = tmp_path / "no_arch.csv"
    no_arch.write_text("name,swap\nx,1\n", encoding="utf-8")
    huge = tmp_path / "huge.csv"
    huge.write_text("arch,swap\n\"" + "x" * 200_000 + "\",1\n", encoding="utf-8")
    truth = tmp_path / "truth.csv"
    truth.write_text(f"arch,acc\n{example},90\n", encoding="utf-8")
    (tmp_path / "binary.csv").write_bytes(b"arch\n\xff\xfe\x00\x81 not text\n")
    return {"archs": str(archs), "no_arch": str(no_arch), "huge": str(huge), "truth": f"{truth}:acc",
            "dir": str(tmp_path), "out": str(tmp_path / "out.csv")}


def _score(f, *extra):
    return ["score", "--space", "nb201", "--network", "teaching", "--archs", f["archs"], "--data", "synthetic",
            "--no-store", "--out", f["out"], *extra]


def _search(*extra):
    return ["search", "--algo", "random", "--budget", "2", *extra]


BAD = {  # what a careless or hostile user types -> a word the one-line message must contain
    "score --limit -1": (lambda f: _score(f, "--limit", "-1"), "at least 1"),
    "score --limit 0": (lambda f: _score(f, "--limit", "0"), "at least 1"),
    "score --batch-size 0": (lambda f: _score(f, "--batch-size", "0"), "at least 1"),
    "score --mu nan": (lambda f: _score(f, "--mu", "nan"), "finite"),
    "score --mu inf": (lambda f: _score(f, "--mu", "inf"), "finite"),
    "score --sigma -inf": (lambda f: _score(f, "--sigma=-inf"), "finite"),
    "score --sigma 0": (lambda f: _score(f, "--sigma", "0"), "greater than 0"),
    "score --repeats x": (lambda f: _score(f, "--repeats", "x"), "not an integer"),
    "score --threads 0": (lambda f: _score(f, "--threads", "0"), "at least 1"),
    "score --seed -1": (lambda f: _score(f, "--seed", "-1"), "0 or more"),
    "score --device foo": (lambda f: _score(f, "--device", "foo"), "device"),
    "score --device meta": (lambda f: _score(f, "--device", "meta"), "device"),
    "score --device mps": (lambda f: _score(f, "--device", "mps"), "device"),
    "score --space evil": (lambda f: _score(f, "--space", "../evil"), "invalid choice"),
    "score --archs missing": (lambda f: _score(f, "--archs", f["dir"] + "/missing.csv"), "not found"),
    "score --archs binary": (lambda f: _score(f, "--archs", f["dir"] + "/binary.csv"), "not UTF-8 text"),
    "correlate binary": (lambda f: ["correlate", "--scores", f["dir"] + "/binary.csv", "--truth", f["truth"]],
                         "not UTF-8 text"),
    "score --proxies typo": (lambda f: _score(f, "--proxies", "swapp"), "swapp"),
    "prepare --batch-size 0": (lambda f: ["prepare", "--batch-size", "0"], "at least 1"),
    "prepare --device mps": (lambda f: ["prepare", "--device", "mps"], "device"),
    "correlate no arch column": (lambda f: ["correlate", "--scores", f["no_arch"], "--truth", f["truth"]],
                                 "no 'arch' column"),
    "correlate huge field": (lambda f: ["correlate", "--scores", f["huge"], "--truth", f["truth"]], "line"),
    "correlate missing": (lambda f: ["correlate", "--scores", f["dir"] + "/nope.csv", "--truth", f["truth"]],
                          "nope.csv"),
    "correlate --out dir": (lambda f: ["correlate", "--scores", f["truth"].rsplit(":", 1)[0], "--truth",
                                       f["truth"], "--out", f["dir"]], "cannot use"),
    "bench --batch-sizes 0": (lambda f: ["bench", "--batch-sizes", "0"], "at least 1"),
    "bench --repeats -3": (lambda f: ["bench", "--repeats", "-3"], "at least 1"),
    "bench --idle-wait nan": (lambda f: ["bench", "--idle-wait", "nan"], "finite"),
    "bench --device foo": (lambda f: ["bench", "--device", "foo"], "device"),
    "search --budget 0": (lambda f: _search("--budget", "0"), "at least 1"),
    "search --mu nan": (lambda f: _search("--mu", "nan"), "finite"),
    "search --gamma nan": (lambda f: _search("--gamma", "nan"), "finite"),
    "search --mu inf": (lambda f: _search("--mu", "inf"), "finite"),
    "search --weight -inf": (lambda f: _search("--weight=-inf"), "finite"),
    "search --sample-size 0": (lambda f: _search("--sample-size", "0"), "at least 1"),
    "search --seeds huge": (lambda f: _search("--seeds", "0-300000000"), "10,000 seeds"),
    "search --seeds junk": (lambda f: _search("--seeds", "0-x"), "bad seeds"),
    "search --device meta": (lambda f: _search("--device", "meta"), "device"),
    "search --algo typo": (lambda f: ["search", "--algo", "rando", "--budget", "2"], "rando"),
    "oneshot darts --epochs 0": (lambda f: ["oneshot", "darts", "--epochs", "0"], "at least 1"),
    "oneshot darts --seeds huge": (lambda f: ["oneshot", "darts", "--seeds", "0-300000000"], "10,000 seeds"),
    "oneshot smash --archs -1": (lambda f: ["oneshot", "smash", "--archs", "-1"], "at least 1"),
    "oneshot smash --steps nan": (lambda f: ["oneshot", "smash", "--steps", "nan"], "not an integer"),
    "fetch-data --source bad": (lambda f: ["fetch-data", "--source", "no-equals-sign"], "ITEM=URL"),
    "list --bogus": (lambda f: ["list", "--bogus"], "unrecognized"),
    "no command": (lambda f: [], "required"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_option_is_one_line(case, files):
    make_argv, expected = BAD[case]
    start = time.perf_counter()
    code, err = _run(make_argv(files))
    assert code not in (0, None), (case, err)
    assert "Traceback" not in err, (case, err)
    assert expected in err, (case, err)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("usage:", " "))]
    assert len(lines) == 1, (case, err)  # argparse's usage lines aside, one line says what is wrong
    assert time.perf_counter() - start < PER_CALL_S, case


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(files, monkeypatch):
    def boom(_args):
        raise RuntimeError("something broke\nover two lines")

    monkeypatch.setattr(cli, "cmd_list", boom)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), "list", boom))
    code, err = _run(["list"])
    assert code == 1 and "Traceback" not in err
    assert "error: RuntimeError: something broke over two lines" in err and "SWAP_EXPLORER_DEBUG=1" in err
    monkeypatch.setenv("SWAP_EXPLORER_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["list"])


def test_ctrl_c_and_disk_errors_are_one_line(monkeypatch):
    for error, code, words in ((KeyboardInterrupt(), 130, "interrupted"),
                               (OSError(28, "No space left on device", "/full/out.csv"), 1, "No space left"),
                               (PermissionError(13, "Permission denied", "/ro/out.csv"), 1, "/ro/out.csv"),
                               (MemoryError(), 1, "out of memory")):
        def raise_it(_args, error=error):
            raise error

        parser = cli.build_parser
        monkeypatch.setattr(cli, "build_parser", lambda raise_it=raise_it: _with_func(parser(), "list", raise_it))
        got, err = _run(["list"])
        monkeypatch.undo()
        assert got == code and words in err and "Traceback" not in err, (error, err)


def _with_func(parser, command, func):
    for action in parser._actions:
        if getattr(action, "choices", None) and command in action.choices:
            action.choices[command].set_defaults(func=func)
    return parser


def test_correlate_reads_a_byte_order_mark(tmp_path):
    example = get_space("nb201").example
    scores = tmp_path / "scores.csv"
    scores.write_text(f"arch,swap\n{example},5\n", encoding="utf-8-sig")
    truth = tmp_path / "truth.csv"
    truth.write_text(f"arch,acc\n{example},90\n", encoding="utf-8-sig")
    code, _ = _run(["correlate", "--scores", str(scores), "--truth", f"{truth}:acc"])
    assert code == 0


def test_bad_options_through_the_real_command_line(tmp_path):
    """A few in fresh processes (run side by side: each pays torch's import): what reaches the
    terminal has no traceback and a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SWAP_EXPLORER_DEBUG", None)
    cases = [["score", "--space", "nb201", "--archs", "x", "--out", "y", "--mu", "nan"],
             ["search", "--algo", "random", "--budget", "2", "--seeds", "0-300000000"],
             ["correlate", "--scores", str(tmp_path / "missing.csv"), "--truth", "nb201_accuracy.csv",
              "--out", str(tmp_path)]]
    running = [subprocess.Popen([sys.executable, "-m", "swap_core", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) for argv in cases]
    for argv, process in zip(cases, running):
        _, err = process.communicate(timeout=120)
        assert process.returncode != 0, (argv, err)
        assert "Traceback" not in err and "error" in err, (argv, err)


def test_score_skips_a_hostile_line_and_goes_on(tmp_path):
    """The issue's case: a deeply nested NB101 string in a `score` file ended the run."""
    archs = tmp_path / "archs.txt"
    archs.write_text("[" * 20_000 + "]" * 20_000 + "\n" + "x" * 300_000 + "\n", encoding="utf-8")
    code, err = _run(["score", "--space", "nb101", "--network", "teaching", "--archs", str(archs), "--data",
                      "synthetic", "--no-store", "--proxies", "params", "--out", str(tmp_path / "out.csv")])
    assert code == 1 and "Traceback" not in err, err
    assert "line 1: skipped" in err and "line 2: skipped" in err and "2 rows skipped" in err, err
    assert max(len(line) for line in err.splitlines()) < 1000
