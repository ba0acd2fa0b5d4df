"""Linear Regions: a ReLU network is piecewise linear (Montúfar et al., NeurIPS 2014). Its
regions on a toy network with 2-D inputs, and on a slice of image space through three images
for the current cell. All numbers come from `swap_core.regions`."""
import pandas as pd
import streamlit as st

from swap_core import regions, slice_window
from swap_core.data import Batch
from ui import cached, region_cache, region_figures as figures
from ui.presenter import helper
from ui.settings import Settings, current

VIEWS = ["Toy network on 2-D inputs", "Slice of image space (current cell)"]
INIT_LABELS = {"pytorch": "PyTorch default", "kaiming": "Kaiming/He normal, zero bias",
               "gaussian": "Gaussian N(0, 1)", "orthogonal": "Orthogonal"}
WHOLE = "whole plane"  # (−0.25, 1.25): the three images and around them; else x0 ± h
TOY_TEXT = (
    "Every hidden ReLU unit is either **on** (passes its input) or **off** (outputs 0). The list of "
    "on/off states of all units is the input's *activation pattern*. Inputs that share a pattern form a "
    "**linear region**: there the network is one plain linear (affine) function, so its output surface "
    "is made of flat facets, and each region is a convex polygon cut out by the units' lines. A network "
    "that can cut its input into more regions can bend its function more often — it is more "
    "*expressive*. TE-NAS (Chen et al., ICLR 2021) scores an untrained network by counting the distinct "
    "patterns a set of inputs produces, the count shown here. NASWOT (Mellor et al., ICML 2021) compares "
    "the patterns of different images, and SWAP (Peng et al., ICLR 2024) counts distinct patterns of "
    "each unit over a batch. Deeper networks *can* have exponentially many regions (the bound below), "
    "yet at random initialisation the count grows roughly with the number of units (Hanin & Rolnick, "
    "ICML 2019).")
SLICE_TEXT = (
    "The current cell's network sees 3×32×32 numbers, so we look at a flat 2-D slice of image space: "
    "all mixtures x0 + a·(x1 − x0) + b·(x2 − x0) of three images of the batch. Each point is coloured by "
    "its activation pattern over **all** ReLU units of the network: a new colour means the slice crossed "
    "into a new linear region. A real cell has tens of thousands of units, so regions are tiny — zoom in "
    "around x0 to see them as patches. The network runs in evaluation mode: BatchNorm then uses its "
    "running statistics (at initialisation the identity), so a point's pattern depends on that point "
    "alone; in training mode BatchNorm normalises with the other images of the batch and the pattern "
    "would change with its neighbours. 'Units flipped' shows how many units differ from x0's pattern "
    "(the Hamming distance NASWOT's kernel is built from).")


def download(label: str, frame: pd.DataFrame, name: str, key: str, column) -> None:
    column.download_button(label, frame.to_csv(index=False), file_name=name, mime="text/csv", key=key,
                           icon=":material/download:")


def toy_view() -> None:
    st.markdown("Each colour is one **linear region**: inputs where the same ReLU units are on.")
    with st.expander("What is a linear region, and why count them? (for students)", icon=":material/school:"):
        st.markdown(TOY_TEXT)
    top, bottom = st.columns(4), st.columns(4)
    depth = top[0].slider("Hidden layers (depth)", 1, 8, 2, key="lr_depth")
    width = top[1].slider("Units per layer (width)", 1, 64, 8, key="lr_width")
    init = top[2].selectbox("Initialisation", regions.TOY_MLP_INITS, format_func=INIT_LABELS.get, key="lr_init")
    seed = top[3].number_input("Weights seed", 0, 10_000, 0, key="lr_toy_seed")
    resolution = bottom[0].slider("Grid points per side", 50, 400, 200, step=25, key="lr_toy_resolution")
    extent = bottom[1].slider("Plane half-width", 0.5, 10.0, 3.0, step=0.5, key="lr_extent")
    edges = bottom[2].toggle("Draw boundaries", True, key="lr_edges")
    result = region_cache.toy(depth, width, int(seed), init, resolution, extent)
    metrics = st.columns(3)
    metrics[0].metric("Regions met on the grid", result.count,
                      help="Distinct activation patterns among the grid points: a lower bound (regions "
                           "smaller than a grid cell or outside the window are missed).")
    metrics[1].metric("Upper bound for these widths", f"{result.bound:,}" if result.bound < 1e9 else
                      f"{result.bound:.2e}", help="Serra et al. (ICML 2018), Theorem 1; for one hidden "
                      "layer of w units: 1 + w + w(w−1)/2 (Zaslavsky).")
    metrics[2].metric("Hidden ReLU units", result.units)
    left, right = st.columns(2)
    left.plotly_chart(figures.region_map(result, f"{result.count} regions on [−{extent:g}, {extent:g}]²",
                                         boundaries=edges), width="stretch", key="lr_toy_map")
    right.plotly_chart(figures.output_surface(result), width="stretch", key="lr_toy_surface")
    settings = pd.DataFrame([{"depth": depth, "width": width, "init": init, "seed": seed,
                              "resolution": resolution, "extent": extent, "regions": result.count,
                              "units": result.units, "upper_bound": result.bound}])
    cols = st.columns(3)
    download("Region of every grid point (CSV)", regions.points_table(result), "toy_regions.csv", "lr_toy_csv",
             cols[0])
    download("Toy settings and count (CSV)", settings, "toy_settings.csv", "lr_toy_settings_csv", cols[1])


def window_options(readable: float) -> list:
    """"whole plane", then x0 ± h from 1 down to a hundredth of the readable h: narrower
    windows hold only one or two regions."""
    return [WHOLE, *[h for h in slice_window.HALF_WIDTHS if h >= readable / 100 - 1e-15]]


def slice_controls(settings: Settings, batch: Batch) -> tuple[tuple[int, int, int], int, tuple[float, float]]:
    """The three image indices (default 0, 1, 2), the grid resolution and the window's span
    (default: the widest where regions read as patches, measured for this cell and images)."""
    last = len(batch) - 1
    for k in range(3):  # a smaller sidebar batch must not leave an index out of range
        if st.session_state.get(f"lr_image{k}", last + 1) > last:
            st.session_state[f"lr_image{k}"] = min(k, last)
    cols = st.columns(4)
    indices = tuple(int(cols[k].number_input(f"Image x{k} (index)", 0, last, key=f"lr_image{k}")) for k in range(3))
    resolution = cols[3].slider("Grid points per side", 25, 97, 31, step=6, key="lr_resolution",
                                help="Runs one forward pass per point: about 1 s for 31×31 on a laptop "
                                     "CPU with the teaching preset.")
    if len(set(indices)) < 3:
        return indices, resolution, (-0.25, 1.25)
    with st.spinner("Finding the window where regions show…"):
        readable = region_cache.readable_window(settings, indices).half_width
    options = window_options(readable)
    cell = (settings.setup.key, settings.arch, indices)
    if st.session_state.get("lr_window_for") != cell or st.session_state.get(
            "lr_window") not in options:  # a new cell or images: open where regions read as regions
        st.session_state["lr_window"], st.session_state["lr_window_for"] = readable, cell
    window = st.select_slider("Window", options, key="lr_window",
                              format_func=lambda h: h if h == WHOLE else f"x0 ± {h:.2g}",
                              help=f"The whole plane holds the three images; smaller windows zoom in around x0. "
                                   f"Opens at x0 ± {readable:.2g}, the widest window where this cell's regions "
                                   f"span many grid points (measured on a 13×13 probe).")
    return indices, resolution, (-0.25, 1.25) if window == WHOLE else (-window, window)


def slice_downloads(settings: Settings, result: regions.SliceRegions, indices: tuple[int, int, int],
                    resolution: int, span: tuple[float, float]) -> None:
    summary = pd.DataFrame([{"space": settings.space_name, "preset": settings.preset, "arch": settings.arch,
                             "x0": indices[0], "x1": indices[1], "x2": indices[2], "a_min": span[0],
                             "a_max": span[1], "resolution": resolution, "regions": result.count,
                             "units": result.units}])
    cols = st.columns(3)
    download("Region of every grid point (CSV)", regions.points_table(result), "slice_regions.csv", "lr_slice_csv",
             cols[0])
    download("Slice settings and count (CSV)", summary, "slice_summary.csv", "lr_slice_summary_csv", cols[1])
    download("Grid points per region (CSV)", regions.region_sizes(result), "slice_region_sizes.csv",
             "lr_slice_sizes_csv", cols[2])


def slice_view() -> None:
    st.markdown("A flat slice of image space through three images: a new colour is a new linear region.")
    with st.expander("How is the slice made? (for students)", icon=":material/school:"):
        st.markdown(SLICE_TEXT)
    settings = current()
    batch = cached.batch(settings)
    st.caption(f"Network: {settings.space.title}, preset **{settings.preset}**, cell `{settings.arch}`. "
               f"Images: {batch.description}.")
    indices, resolution, span = slice_controls(settings, batch)
    if len(set(indices)) < 3:
        st.warning("Pick three different images: two equal images span no plane"
                   + (" (raise the sidebar's batch size to 3 or more)." if len(batch) < 3 else "."))
        return
    corners = {"x0": (0.0, 0.0), "x1": (1.0, 0.0), "x2": (0.0, 1.0)}
    markers = {n: p for n, p in corners.items() if all(span[0] <= v <= span[1] for v in p)}
    result = region_cache.image_slice(settings, indices, resolution, span)
    found = [f"region {r}" if r >= 0 else "a region between grid points" if f"x{k}" in markers
             else "outside this window" for k, r in enumerate(result.image_labels)]
    st.image([figures.thumbnail(batch.images[i]) for i in indices], width=96,
             caption=[f"x{k} = image {i} at {corners[f'x{k}']}: {found[k]}" for k, i in enumerate(indices)])
    metrics = st.columns(3)
    metrics[0].metric("Regions the slice crosses (on the grid)", result.count)
    metrics[1].metric("Grid points", result.labels.size)
    metrics[2].metric("ReLU units per image", f"{result.units:,}")
    if result.count == result.labels.size:
        st.info("Every grid point lies in its own region: regions are smaller than a grid step, so the true "
                "count is higher. Move the window towards x0 to see regions as patches.")
    if not result.exact:
        helper("Patterns were compared by 128-bit digests (a collision is astronomically unlikely) to keep "
               "memory bounded for this large network.")
    colour = st.segmented_control("Colour by", ["Region", "Units flipped vs x0"], default="Region",
                                  key="lr_colour") or "Region"
    if colour == "Region":  # boundaries would cover the map unless regions span several pixels
        edges = result.labels.size >= 25 * result.count
        fig = figures.region_map(result, f"{result.count} regions on the slice", markers, boundaries=edges)
    else:
        fig = figures.flips_map(result, "ReLU units whose state differs from x0's", markers)
    st.plotly_chart(fig, width="stretch", key="lr_slice_map")
    slice_downloads(settings, result, indices, resolution, span)


st.title("Linear regions")
st.caption("A ReLU network is a piecewise-linear function: one linear piece per activation pattern.")
view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="lr_view") or VIEWS[0]
if view == VIEWS[0]:
    toy_view()
else:
    slice_view()
