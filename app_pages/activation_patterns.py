"""Activation Patterns: one network's ReLU on/off matrix read two ways — per input (standard
patterns, NASWOT: Mellor et al., ICML 2021) and per unit (sample-wise patterns, SWAP: Peng
et al., ICLR 2024) — with the NASWOT kernel, a per-layer breakdown and the SWAP paper's
saturation experiment. All numbers come from `swap_core.activation_views`."""
import streamlit as st

from swap_core import activation_views as views
from swap_core.memory import MemoryBudgetError
from ui import pattern_cache as cache, pattern_figures as figures
from ui.pattern_panels import full_matrices, show_saturation, small_example, sweep
from ui.settings import current, escape_markdown

VIEWS = ("Full-size matrices", "NASWOT kernel", "Per-layer breakdown", "Saturation: resolution")
EXPLAIN = """
**A unit** is one channel of one ReLU layer at one pixel position. On an input it is either
*active* (output > 0, dark) or *inactive* (light). Write these bits as a table: one row per
input image, one column per unit.

* **Standard pattern** (NASWOT): read a *row* — one input's code over all units. Inputs with
  the same code fall in the same linear region of the network. A batch of N inputs can show at
  most **N** different codes, and almost any network already tells all N inputs apart, so this
  count *saturates* at N and stops telling networks apart.
* **Sample-wise pattern** (SWAP): read a *column* — one unit's answer to all N inputs, an
  N-bit string. There are 2ᴺ possible strings, and a network has thousands of units, so the
  count can keep growing up to **min(units, 2ᴺ)**: with the network's size, the batch and the
  resolution. This wider range is what the SWAP paper calls its higher capacity — it still
  ranks networks long after the standard count is stuck at N.
"""


settings = current()
st.title("Activation patterns")
st.markdown(f"The ReLU on/off patterns of **{settings.space.title}** (`{settings.preset}` network): one binary "
            "matrix read per input (standard) and per unit (sample-wise). Standard patterns stop at N, the "
            "number of inputs; sample-wise patterns can grow to min(units, 2ᴺ).")
with st.expander("What is an activation pattern? (for students)"):
    st.markdown(EXPLAIN)

st.session_state.setdefault("ap_init", "gaussian")  # the weights the SWAP-Score of every other page is counted on
init = st.session_state["ap_init"]
try:  # over the server's memory budget: say what to lower, compute nothing
    cache.check_memory(settings, max(settings.batch_size, st.session_state.get("ap_max_batch", 64)))
except MemoryBudgetError as error:
    st.error(escape_markdown(str(error)), icon=":material/memory:")
    st.stop()
with st.spinner("Running the network…"):
    beside = small_example(settings)
max_batch = st.session_state.get("ap_max_batch", 64)  # its slider is drawn below, with the numbers
points = [(n, settings.config.input_size) for n in views.batch_sizes(max_batch)]
saturation = sweep(settings, init, points, "Counting patterns per batch size")
beside.plotly_chart(figures.saturation_plot(saturation, "batch_size", "batch size N (log scale)", height=330,
                                            title="The whole network: distinct patterns against N"),
                    width="stretch", key="ap_saturation")

st.subheader(f"The whole network on the sidebar's {settings.batch_size} images")
with st.spinner("Running the network…"):
    m = cache.matrix(settings, init, st.session_state.get("ap_units", 200))
cols = st.columns(4)
cols[0].metric("Units U", f"{m.total_units:,}",
               help=f"channels × positions of {len(m.layers)} ReLU calls with a 4-D input")
cols[1].metric("Samples N", m.samples)
cols[2].metric("Distinct standard patterns", f"{m.standard_distinct:,}",
               help="distinct rows of the samples × units matrix, over all units")
cols[3].metric("Distinct sample-wise patterns", f"{m.sample_wise_distinct:,}",
               help="distinct rows of the units × samples matrix, over all units: with Gaussian weights this is "
                    "the SWAP-Score the Cell Designer, the Proxy Lab and `python -m swap_core score` show for "
                    "this cell and sidebar")
numbers, control = st.columns([3, 1])
numbers.caption(f"Bounds: standard ≤ N = {m.standard_bound}; sample-wise ≤ min(units, 2^N) = "
                f"{m.sample_wise_bound:,}. The plot above: each batch size its own draw of N images (same seed) "
                "and forward pass; the standard count follows N, the sample-wise count keeps climbing.")
control.select_slider("Largest batch in the plot", [8, 16, 32, 64, 128, 256], value=64, key="ap_max_batch")
with st.expander("The plot's numbers"):
    st.dataframe(saturation, hide_index=True, width="stretch")
    st.download_button("Download CSV", saturation.to_csv(index=False), "saturation_batch.csv", "text/csv",
                       key="ap_csv_batch_size")


view = st.segmented_control("More views", VIEWS, default=VIEWS[0], key="ap_view")
if view == "Full-size matrices":
    full_matrices(m)
elif view == "NASWOT kernel":
    k = cache.kernel(settings, init)
    chart, text = st.columns([3, 2], vertical_alignment="center")
    chart.plotly_chart(figures.kernel_heatmap(k.kernel, k.logdet), width="stretch")
    text.metric("log|det K_H| (NASWOT score)", f"{k.logdet:,.2f}")
    text.caption(f"K_H[i, j] = units on which samples i and j agree (N_A − Hamming distance), summed over "
               f"every `nn.ReLU` call whatever its input's rank, as the NASWOT proxy hooks them: here "
               f"{k.relu_calls} calls, {k.units:,} units. log|det K_H| = {k.logdet:,.3f} is the NASWOT score "
               "of these weights; it is large when inputs get very different codes.")
elif view == "Per-layer breakdown":
    table = cache.layers(settings, init)
    st.plotly_chart(figures.layer_bars(table), width="stretch")
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—")
    st.caption("Counts within each ReLU call alone. A pattern that appears in several layers counts once "
               "in the total above, so the total is not the sum of the rows.")
    st.download_button("Download CSV", table.to_csv(index=False), "activation_patterns_layers.csv", "text/csv",
                       key="ap_csv_layers")
elif view == "Saturation: resolution":
    sizes = st.pills("Input sizes (pixels)", [8, 16, 24, 32, 48, 64], selection_mode="multi",
                     default=list(views.RESOLUTIONS), key="ap_resolutions")
    if sizes:
        try:
            cache.check_memory(settings, settings.batch_size, max(sizes))
        except MemoryBudgetError as error:
            st.error(escape_markdown(str(error)), icon=":material/memory:")
            st.stop()
        points = [(settings.batch_size, s) for s in sorted(sizes)]
        table = sweep(settings, init, points, "Counting patterns per input size")
        show_saturation(table, "input_size", "input side (pixels)", "saturation_resolution.csv")
        st.caption("The same images resized; the network ends in global pooling, so any size runs. More "
                   "pixels give more units, so min(units, 2^N) rises, while the standard bound stays at N.")
    else:
        st.info("Pick at least one input size.")
else:
    st.info("Pick a view above.")
