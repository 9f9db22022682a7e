"""Training curves as a PNG (matplotlib, offline): one panel per curve, loss against step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Curve:
    """One panel: its title, y-axis label and (step, value) points."""

    title: str
    ylabel: str
    points: Sequence[tuple[float, float]]
    log_scale: bool = True


def draw_curves(curves: Sequence[Curve], path: Path | str) -> None:
    """Draw `curves` side by side into the PNG at `path` (written atomically)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keylike.io import atomic_write_bytes

    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
    for axis, curve in zip(axes[0], curves):
        axis.plot([p[0] for p in curve.points], [p[1] for p in curve.points], color="#1f6f8b", marker="." if len(curve.points) < 30 else None)
        axis.set(title=curve.title, xlabel="step", ylabel=curve.ylabel, yscale="log" if curve.log_scale else "linear")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
