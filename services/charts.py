"""Chart images rendered on the server (matplotlib, Agg): PNG bytes to send in the chat.

Labels come in already translated; rendering is CPU work, so callers run it in a thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

MAX_BARS = 15


@dataclass(frozen=True)
class Panel:
    """One bar chart: a title, bar labels and values (shares in per cent when `percent`)."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    horizontal: bool = False
    percent: bool = False
    value_labels: Sequence[str] | None = None  # as the language writes them; default: the plain numbers


def _short(label: str, width: int = 32) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _draw(fig: Figure, index: int, count: int, panel: Panel, empty: str) -> None:
    ax = fig.add_subplot(count, 1, index)
    ax.set_title(panel.title, fontsize=11, loc="left")
    labels = [_short(x) for x in panel.labels][:MAX_BARS]
    values = list(panel.values)[:MAX_BARS]
    if not labels:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    if panel.horizontal:
        bars = ax.barh(range(len(labels)), values, color="#3b7dd8")
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
    else:
        bars = ax.bar(range(len(labels)), values, color="#3b7dd8")
        ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=30 if len(labels) > 6 else 0)
    fmt = "{:.1f}%" if panel.percent else "{:.0f}"
    texts = list(panel.value_labels)[:MAX_BARS] if panel.value_labels else [fmt.format(v) for v in values]
    ax.bar_label(bars, labels=texts, fontsize=7, padding=2)
    if not panel.percent:  # counts: no 2.5 pupils on the axis
        (ax.xaxis if panel.horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(x=0.1, y=0.15)
    # Counts and shares are never negative; an all-zero panel still gets a sensible 0..1 (0..100 %) axis.
    top = max([*values, 0]) * 1.15 or (100.0 if panel.percent else 1.0)
    (ax.set_xlim if panel.horizontal else ax.set_ylim)(0, top)


def render(title: str, panels: Sequence[Panel], empty: str) -> bytes:
    """A PNG (about 1000 px wide) with one panel under another."""
    fig = plt.figure(figsize=(10, 3.2 * len(panels) + 0.6), dpi=100)
    try:
        fig.suptitle(title, fontsize=13)
        for i, panel in enumerate(panels, 1):
            _draw(fig, i, len(panels), panel, empty)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)
