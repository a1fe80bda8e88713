"""Training curves from the json scalar logs of MMEngine runs.

MMEngine's ``LocalVisBackend`` writes one json object per logged iteration to
``WORK_DIR/<timestamp>/vis_data/scalars.json`` (keys ``iter``/``step``,
``lr``, the loss terms and logged values). A resumed run starts a new
timestamp folder; :func:`read_scalar_log` merges them, later entries of an
iteration replacing earlier ones.
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ['read_scalar_log', 'scalar_series', 'plot_training_curves']

Series = Tuple[List[int], List[float]]


def read_scalar_log(work_dir: Union[str, Path]) -> List[dict]:
    """Training-iteration entries of every ``*/vis_data/scalars.json`` of a work dir.

    Args:
        work_dir: the run's work directory.

    Returns:
        list[dict]: one dict per logged training iteration (those with a
        ``loss`` key), sorted by ``iter``.
    """
    rows: Dict[int, dict] = {}
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if 'loss' in row and 'iter' in row:
                rows[int(row['iter'])] = row
    return [rows[k] for k in sorted(rows)]


def scalar_series(rows: Sequence[dict], key: str) -> Series:
    """(iterations, values) of ``key`` over the rows that have it."""
    pairs = [(int(r['iter']), float(r[key])) for r in rows if key in r]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_training_curves(panels: Dict[str, Dict[str, Series]], out_path: Union[str, Path],
                         title: str = '') -> str:
    """One subplot per panel, one line per series, saved as a PNG.

    Args:
        panels: panel title -> (series label -> (iterations, values)); empty
            series are skipped.
        out_path: PNG path.
        title: figure title.

    Returns:
        str: ``out_path``.
    """
    fig = Figure(figsize=(4.5 * max(len(panels), 1), 3.5), dpi=100)
    FigureCanvasAgg(fig)
    for i, (panel, series) in enumerate(panels.items()):
        ax = fig.add_subplot(1, max(len(panels), 1), i + 1)
        for label, (steps, values) in series.items():
            if steps:
                ax.plot(steps, values, label=label, linewidth=1.2, marker='.', markersize=3)
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if any(s[0] for s in series.values()):
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(str(out_path))
    return str(out_path)
