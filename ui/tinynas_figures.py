"""The TinyNAS figure (Lin et al., "MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020,
Fig. 3): for each width × resolution variant of a search space that keeps models under the
memory budget, the cumulative distribution of the FLOPs of those models; the chosen variant
(`swap_core.tinynas.select_space`) is drawn thick and labelled. Large fonts: projectors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from ui.presenter import readable

FONT = dict(size=15)


def variant_legend(label: str, mean_mflops: float) -> str:
    """MCUNet's legend: `w0.75-r24 | 41M` (mean MFLOPs of the models under the budget)."""
    return f"{label} | {mean_mflops:.0f}M"


def flops_cdf(cells_df: pd.DataFrame, variants_df: pd.DataFrame) -> go.Figure:
    """One CDF line per kept variant: x = MFLOPs of its models under the budget, y = the fraction
    of them with at most that many; the chosen variant thicker, its legend ending in "(chosen)"."""
    figure = go.Figure()
    colours = qualitative.Safe + qualitative.Dark24
    kept = variants_df[variants_df["kept"]]
    for index, row in enumerate(kept.itertuples()):
        cells = cells_df[(cells_df["variant"] == row.label) & cells_df["under_budget"]]
        flops = np.sort(cells["mflops"].to_numpy(dtype=float))
        fraction = np.arange(1, len(flops) + 1) / max(len(flops), 1)
        name = variant_legend(row.label, row.mean_mflops) + (" (chosen)" if row.chosen else "")
        figure.add_scatter(x=flops, y=fraction, mode="lines", name=name, line_shape="hv",
                           line=dict(width=6 if row.chosen else 2, color=colours[index % len(colours)]),
                           hovertemplate=f"{row.label}: %{{y:.0%}} of the models have ≤ %{{x:.1f}} MFLOPs<extra></extra>")
    dropped = variants_df.loc[~variants_df["kept"], "label"].tolist()
    title = "FLOPs distribution of the models under the memory budget"
    if dropped:
        title += f"<br><sup>dropped (no model fits): {', '.join(dropped)}</sup>"
    figure.update_layout(title=title, font=FONT, xaxis_title="MFLOPs", yaxis_title="cumulative fraction of models",
                         yaxis=dict(range=[0, 1.02], tickformat=".0%"), legend_title_text="variant | mean MFLOPs",
                         height=520, margin=dict(t=90))
    return readable(figure)
