"""A PNG of the benchmark's four plots (for the README); DVC renders the same data from the JSON files."""

from __future__ import annotations

import io
from pathlib import Path

from keylike.io import atomic_write_bytes


def _confusion_counts(rows: list[dict]) -> tuple[list[str], list[str], list[list[int]]]:
    actual = sorted({r["actual"] for r in rows})
    predicted = actual + sorted({r["predicted"] for r in rows} - set(actual))
    counts = [[0] * len(predicted) for _ in actual]
    for r in rows:
        counts[actual.index(r["actual"])][predicted.index(r["predicted"])] += 1
    return actual, predicted, counts


def render_figure(plots: dict[str, list[dict]], path: Path) -> None:
    """Draw keyway confusion, per-position accuracy, depth-error histogram and reliability diagram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    ax = axes[0][0]
    actual, predicted, counts = _confusion_counts(plots["confusion"])
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(predicted)), predicted, rotation=45, ha="right")
    ax.set_yticks(range(len(actual)), actual)
    top = max(max(row) for row in counts)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            if count:
                color = "white" if count > top / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color=color)
    ax.set(title="Keyway confusion (test split)", xlabel="predicted", ylabel="actual")

    ax = axes[0][1]
    positions = [r["position"] for r in plots["per_position"]]
    ax.bar([p - 0.2 for p in positions], [r["accuracy"] or 0 for r in plots["per_position"]], 0.4, label="exact")
    ax.bar([p + 0.2 for p in positions], [r["within_one_step"] or 0 for r in plots["per_position"]], 0.4,
           label="within one step")
    ax.set(title="Accuracy per cut position (bitting order)", xlabel="position", ylabel="accuracy", ylim=(0, 1))
    ax.set_xticks(positions)
    ax.legend()

    ax = axes[1][0]
    ax.bar([r["error"] for r in plots["depth_error"]], [r["count"] for r in plots["depth_error"]])
    ax.set(title="Depth error (predicted - true)", xlabel="error in depth steps", ylabel="cuts")

    ax = axes[1][1]
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    rows = plots["reliability"]
    ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o", label="model")
    for r in rows:
        ax.annotate(str(r["count"]), (r["confidence"], r["accuracy"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    ax.set(title="Reliability (correct = exact match)", xlabel="confidence", ylabel="accuracy",
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
