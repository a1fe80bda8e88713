"""FID (and the config's other metrics) as a function of the guidance scale.

One test run per value of ``model.test_cfg.cfg``; nothing else of the config
changes. The test dataloader (``ClassLabelDataset``) gives sample ``i`` the
same label and seed (``base_seed + i``) in every run, so image ``i`` is drawn
from the same seed for every guidance scale and the curve compares the scales,
not the draws. ``tools/test.py CONFIG CKPT --cfg-sweep 2.0 2.2 2.5 3.0`` runs
it (docs/evaluation_protocols.md, "Guidance scale").
"""
import copy
import json
import os.path as osp
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Union

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from sar_mm.engine.atomic_local_backend import atomic_write_bytes, atomic_write_file
from sar_mm.evaluation.results_json import finite_metrics
from sar_mm.models.utils.sampling_config import SamplingConfig

__all__ = ['run_cfg_sweep', 'plot_cfg_sweep']

FID_KEY = 'fidelity/frechet_inception_distance'
IS_KEY = 'fidelity/inception_score_mean'


def run_cfg_sweep(cfg: Config, scales: Sequence[float], run_test: Callable[[Config], dict]
                  ) -> Dict[str, List[dict]]:
    """Run the config's test once per guidance scale; write the table and a plot.

    Every scale is checked (with the rest of ``model.test_cfg``) before any
    sampling. Run ``k`` uses ``WORK_DIR/cfg_<scale>`` as its work dir; rank 0
    writes ``WORK_DIR/cfg_sweep.json`` and ``WORK_DIR/cfg_sweep.png``.

    Args:
        cfg (Config): the merged test config (``work_dir`` and ``load_from`` set).
        scales (Sequence[float]): guidance scales, distinct.
        run_test (Callable[[Config], dict]): runs the test of a config and
            returns its metrics on every rank (``tools/test.py``: ``Runner.test``).

    Returns:
        dict: ``{'cfg_sweep': [{'cfg': scale, **metrics}, ...]}`` in the order
        of ``scales``.
    """
    if len(set(scales)) != len(scales):
        raise ValueError(f'--cfg-sweep values must be distinct, got {list(scales)}')
    test_cfg = dict(cfg.model.get('test_cfg') or {})
    for scale in scales:
        SamplingConfig.from_test_cfg(test_cfg, cfg=scale)  # raises before any sampling
    rows = []
    for scale in scales:
        run_cfg = copy.deepcopy(cfg)
        run_cfg.merge_from_dict({'model.test_cfg.cfg': scale})
        run_cfg.work_dir = osp.join(cfg.work_dir, f'cfg_{scale:g}')
        print_log(f'cfg sweep: guidance scale {scale:g}', logger='current')
        rows.append(dict(cfg=scale, **run_test(run_cfg)))
    if is_main_process():
        out_dir = Path(cfg.work_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps([finite_metrics(row) for row in rows], indent=2, allow_nan=False)
        atomic_write_bytes((text + '\n').encode(), out_dir / 'cfg_sweep.json')
        plot_cfg_sweep(rows, out_dir / 'cfg_sweep.png')
        print_log(f'cfg sweep: wrote {out_dir / "cfg_sweep.json"} and cfg_sweep.png',
                  logger='current')
    return dict(cfg_sweep=rows)


def plot_cfg_sweep(rows: Sequence[dict], out_path: Union[str, Path]) -> str:
    """FID against the guidance scale (and IS, when measured, in a second panel), as a PNG.

    Args:
        rows: ``{'cfg': scale, metric: value, ...}`` per scale, as
            :func:`run_cfg_sweep` returns them.
        out_path: PNG path.

    Returns:
        str: ``out_path``.
    """
    panels = [(key, label) for key, label in ((FID_KEY, 'FID'), (IS_KEY, 'IS'))
              if all(key in row for row in rows)]
    if not panels:
        raise ValueError(f'the sweep measured no FID: metrics {sorted(rows[0])}')
    fig = Figure(figsize=(4 * len(panels), 3.2), dpi=100)
    FigureCanvasAgg(fig)
    rows = sorted(rows, key=lambda row: row['cfg'])
    scales = [row['cfg'] for row in rows]
    for i, (key, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        values = [row[key] for row in rows]
        ax.plot(scales, values, marker='o')
        for scale, value in zip(scales, values):
            ax.annotate(f'{value:.3g}', (scale, value), textcoords='offset points',
                        xytext=(0, 5), ha='center', fontsize=8)
        ax.set_xlabel('guidance scale (test_cfg.cfg)')
        ax.set_ylabel(label)
        ax.set_xticks(scales)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_write_file(out_path) as f:
        fig.savefig(f, format='png')
    return str(out_path)
