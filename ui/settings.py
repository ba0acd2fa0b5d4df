"""The shared sidebar: search space, data, batch, device, network preset, seed — and the
current architecture. All of it lives in `st.session_state` and in the URL
(`st.query_params`), so a link reproduces the exact view; a bad value in a link gives a
clear message and falls back to the default instead of failing."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import streamlit as st
import torch

from swap_core import benchmarks, explorer
from swap_core.data import SOURCES, DataSourceError
from swap_core.reproducible import fix_threads, threads_from_environment
from swap_core.setup import Setup
from swap_core.spaces import NetworkConfig, SearchSpace, get_space, list_spaces, space_choices
from swap_core.spaces.base import quote

from . import delivery

BATCH_RANGE = (2, 512)
SEED_MAX = 2**31 - 1
DEFAULTS = {"space": "nb201", "preset": "teaching", "source": "auto", "batch": 64, "seed": 0, "device": "auto"}
# URL parameter -> sidebar widget key (page-specific keys are prefixed by their page).
WIDGETS = {name: f"sb_{name}" for name in ("space", "dataset", "preset", "source", "batch", "seed", "device")}
# The sidebar's settings (URL parameter -> value): read from the link at a session's start and
# changed only by the user's own changes of a widget (its on_change), never by what a widget
# reports before it was drawn with its value (see `_shown`).
VALUES = "sb_values"


@dataclass(frozen=True)
class Settings:
    """The sidebar: its `Setup` (what fixes every number a page shows; the key of every
    cache) and the current cell. The other fields are the Setup's, named as the widgets."""

    space_name: str
    dataset: str
    preset: str
    source: str
    batch_size: int
    seed: int
    device_choice: str
    device: str
    arch: str  # the current architecture, as its string

    @property
    def space(self) -> SearchSpace:
        return get_space(self.space_name)

    @cached_property
    def setup(self) -> Setup:
        """The sidebar as a Setup: every proxy sees the sidebar's batch; the thread count is
        the server process's (fixed once at start)."""
        return Setup(space=self.space_name, dataset=self.dataset, preset=self.preset, images=self.source,
                     batch=self.batch_size, seed=self.seed, device=self.device, threads=server_threads())

    @cached_property
    def config(self) -> NetworkConfig:
        return self.setup.config


@st.cache_resource(show_spinner=False)
def server_threads() -> int:
    """torch's thread count for this server process, fixed once at its start (from
    $SWAP_EXPLORER_THREADS when set, else torch's own): never changed while sessions compute."""
    return fix_threads(threads_from_environment())


def _device_options() -> list[str]:
    return [d for d in explorer.DEVICE_CHOICES if d != "cuda" or torch.cuda.is_available()]


def _parse_int(text: str, low: int, high: int, what: str) -> int:
    try:
        if len(text) > 30:  # a link's number is short; int() of thousands of digits is slow, then refused
            raise ValueError
        value = int(text)
    except ValueError:
        raise ValueError(f"{what} must be a whole number, got {quote(text)}") from None
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, got {value}")
    return value


def _choice(text: str, options: list[str], what: str) -> str:
    if text not in options:
        raise ValueError(f"unknown {what} {quote(text)}; expected one of {options}")
    return text


def _load_url() -> None:
    """First run of a session: the sidebar's settings from the valid URL values (else what the
    session already holds, else the defaults), and a message for each invalid one."""
    params = st.query_params
    errors: list[str] = []
    values = st.session_state[VALUES] = {name: st.session_state[key] for name, key in WIDGETS.items()
                                         if key in st.session_state}
    space_name = values.get("space", DEFAULTS["space"])
    if "space" in params:
        try:
            space_name = get_space(_choice(params["space"], space_choices(), "search space")).name
        except ValueError as error:
            errors.append(str(error))
    space = get_space(space_name)
    values["space"] = space_name
    checks = {
        "dataset": lambda t: _choice(t, list(space.datasets), f"dataset for {space_name}"),
        "preset": lambda t: _choice(t, list(space.presets), f"network preset for {space_name}"),
        "source": lambda t: _choice(t, ["auto", *SOURCES], "image source"),
        "batch": lambda t: _parse_int(t, *BATCH_RANGE, "batch size"),
        "seed": lambda t: _parse_int(t, 0, SEED_MAX, "seed"),
        "device": lambda t: _choice(t, _device_options(), "device (this machine has: "
                                    f"{explorer.describe_devices()})"),
    }
    for name, check in checks.items():
        if name in params:
            try:
                values[name] = check(params[name])
            except ValueError as error:
                errors.append(str(error))
    if "arch" in params:
        try:
            st.session_state.setdefault("arch_by_space", {})[space_name] = space.from_str(params["arch"]).to_str()
        except ValueError as error:
            errors.append(f"the architecture in the link is not a valid {space.title} cell: {error}")
    st.session_state["url_errors"] = errors


def _chosen(name: str) -> None:
    """on_change of sidebar widget `name`: the user chose a value, so the settings take it."""
    st.session_state[VALUES][name] = st.session_state[WIDGETS[name]]


def _shown(name: str, options: list | None, default) -> tuple[object, bool]:
    """The value sidebar widget `name` shows this run: the setting (`default` when it is not
    among `options`, e.g. after the space changed), and whether the widget's state had to be
    set to it. A page link clicked while a session's first run is drawing makes Streamlit drop
    the widgets' state and the browser rebuild them from their own defaults, which showed, and
    sent back, the first option and the minimum: so a widget's state is set to the setting
    when it differs, and otherwise its own default is the setting (both at once only make
    Streamlit log a warning)."""
    values = st.session_state[VALUES]
    value = values.get(name, default)
    if options is not None and value not in options:
        value = default
    values[name] = value
    differs = st.session_state.get(WIDGETS[name]) != value
    if differs:
        st.session_state[WIDGETS[name]] = value
    return value, differs


def _selectbox(name: str, label: str, options: list, default, **kwargs):
    """Sidebar selectbox for setting `name`, showing the setting (see `_shown`)."""
    value, set_now = _shown(name, options, default)
    if not set_now:
        kwargs["index"] = options.index(value)
    return st.sidebar.selectbox(label, options, key=WIDGETS[name], on_change=_chosen, args=(name,), **kwargs)


def _number(name: str, label: str, low: int, high: int, **kwargs) -> int:
    """Sidebar number input for setting `name`, showing the setting (see `_shown`)."""
    value, set_now = _shown(name, None, DEFAULTS[name])
    if not set_now:
        kwargs["value"] = value
    return int(st.sidebar.number_input(label, low, high, key=WIDGETS[name], on_change=_chosen, args=(name,),
                                       **kwargs))


def current_arch(space: SearchSpace) -> str:
    return st.session_state.setdefault("arch_by_space", {}).get(space.name, space.example)


def set_arch(arch: str) -> None:
    """Make `arch` (a string of the current space) the current architecture everywhere."""
    space = get_space(st.session_state[VALUES]["space"])
    arch = space.from_str(arch).to_str()
    st.session_state.setdefault("arch_by_space", {})[space.name] = arch
    st.query_params["arch"] = arch


def sidebar() -> Settings:
    """Draw the shared sidebar and return the settings (also kept as `current()`)."""
    if "url_errors" not in st.session_state or VALUES not in st.session_state:
        _load_url()
    side = st.sidebar
    space = get_space(_selectbox("space", "Search space", list_spaces(), DEFAULTS["space"],
                                 format_func=lambda name: get_space(name).title))
    dataset = _selectbox("dataset", "Dataset (classes, input size)", list(space.datasets), space.datasets[0])
    preset = _selectbox("preset", "Network size", list(space.presets), DEFAULTS["preset"],
                        help="teaching: small and fast for live use on a CPU; benchmark: the published "
                             "network, whose parameter counts match the benchmark tables")
    source = _selectbox("source", "Input images", ["auto", *SOURCES], DEFAULTS["source"],
                        help="auto: the CIFAR-10 sample in the data directory, else a downloaded "
                             "CIFAR-10, else bundled photographs, else Gaussian noise")
    batch = _number("batch", "Batch size", *BATCH_RANGE, step=8)
    seed = _number("seed", "Seed", 0, SEED_MAX, help="weights, image choice and random cells all follow it")
    device_choice = _selectbox("device", "Device", _device_options(), DEFAULTS["device"])
    device = explorer.resolve_device(device_choice)
    server_threads()
    side.caption(f"Running on **{device}** ({explorer.describe_devices()}, fixed for this server).")
    settings = Settings(space.name, dataset, preset, source, int(batch), int(seed), device_choice, device,
                        current_arch(space))
    st.query_params.from_dict({
        "space": settings.space_name, "dataset": dataset, "preset": preset, "source": source,
        "batch": str(settings.batch_size), "seed": str(settings.seed), "device": device_choice,
        "arch": settings.arch,
    })
    st.session_state["settings"] = settings
    return settings


def data_status(settings: Settings) -> str:
    """One line: which ground-truth tables were found in the data directory."""
    records = benchmarks.inventory()
    found = sum(r["present"] for r in records)
    table = explorer.accuracy_table(settings.space_name, settings.dataset)
    specs = explorer.truth_specs(settings.space_name, settings.dataset)
    if table:
        truth = f"accuracy from `{table[0]}`"
    elif specs:
        truth = (f"no accuracy table found (`{specs[0].split(':')[0]}`; get it with "
                 f"`{benchmarks.FETCH_COMMAND}`)")
    else:
        truth = "no accuracy table exists for this space and dataset"
    return f"Data: {found} of {len(records)} files found in `{benchmarks.data_dir()}`; {truth}."


def escape_markdown(text: str) -> str:
    """`text` shown literally by Streamlit's markdown (an NB201 string's `~` would strike
    text through)."""
    return "".join("\\" + c if c in "\\`*_[]<>|~$" else c for c in text)


def show_url_errors() -> None:
    """Messages for bad values in the link this session was opened with (until dismissed)."""
    errors = st.session_state.get("url_errors") or []
    for error in errors:
        st.error(f"Ignored a value in the link: {escape_markdown(error)}. The default is used instead.",
                 icon=":material/link_off:")
    if errors and st.button("Dismiss", key="sb_dismiss_url_errors"):
        st.session_state["url_errors"] = []
        st.rerun()


def shell() -> Settings:
    """The sidebar with the data status line, plus messages about bad link values."""
    settings = sidebar()
    try:
        description = cached_batch_description(settings)
    except DataSourceError as error:  # e.g. "cifar10-download" chosen with no archive at hand
        st.sidebar.error(f"The input images '{settings.source}' are not available: {escape_markdown(str(error))} "
                         "Using 'auto' instead.")
        settings = replace(settings, source="auto")
        st.session_state["settings"] = settings
        description = cached_batch_description(settings)
    st.sidebar.caption(f"Images: {description}.")
    st.sidebar.caption(data_status(settings))
    show_url_errors()
    return settings


def cached_batch_description(settings: Settings) -> str:
    return settings.setup.inputs().description


def current() -> Settings:
    """The settings the shell drew in this run; a page run on its own (Streamlit's test
    harness runs a page file directly) draws the shell itself."""
    return st.session_state.get("settings") or shell()


RUN_END_KEY = "swap_run_end"


def end_of_run() -> None:
    """app.py calls this after the page: the next run draws the sidebar afresh. The last thing
    a full script run draws is an empty marker (in a container keyed RUN_END_KEY): a browser
    sees it stale while a full run is still drawing, and fresh once it ended, whatever
    fragments keep redrawing (the e2e suite's `wait_ready` waits on it). The run then ends once
    its messages have been sent (`delivery.wait_until_sent`)."""
    st.session_state.pop("settings", None)
    with st.container(key=RUN_END_KEY):
        st.html("<span></span>")  # not st.empty(): Streamlit shows an empty element stale during any run
    delivery.wait_until_sent()  # before a queued fragment rerun can drop what this run drew (ui/delivery.py)


def page_intro(title: str, caption: str, question: str, explanation: str) -> None:
    """A page's title, one-line caption and its explanation for students behind an expander."""
    st.title(title)
    st.caption(caption)
    with st.expander(f"{question} (for students)", icon=":material/school:"):
        st.markdown(explanation)


def require_space(settings: Settings, space: str, what: str) -> None:
    """Stop the page, with a note, unless the sidebar's search space is `space`."""
    if settings.space_name != space:
        st.info(f"{what} only; the sidebar's search space is **{settings.space.title}**. Choose "
                f"{get_space(space).title} in the sidebar to use this page.", icon=":material/info:")
        st.stop()

