"""Reading MMEngine's json scalar logs (resumed runs included) and plotting them."""
import json

from sar_mm.evaluation.training_curves import (plot_training_curves, read_scalar_log,
                                               scalar_series)


def _write(path, rows):
    path.parent.mkdir(parents=True)
    path.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')


def test_resumed_runs_are_merged_and_plotted(tmp_path):
    _write(tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json', [
        dict(iter=10, step=10, loss=3.0, loss_ce=3.0, lr=1e-3),
        dict(iter=20, step=20, loss=2.5, loss_ce=2.5, lr=1e-3),
        dict(fid=5.0, step=1),  # a validation entry: no loss
    ])
    _write(tmp_path / '20260101_010000' / 'vis_data' / 'scalars.json', [
        dict(iter=20, step=20, loss=2.4, loss_ce=2.4, lr=1e-3),  # re-logged after resuming
        dict(iter=30, step=30, loss=2.0, loss_ce=2.0, acc=40.0, lr=1e-3),
    ])
    rows = read_scalar_log(tmp_path)
    assert [r['iter'] for r in rows] == [10, 20, 30]
    assert scalar_series(rows, 'loss_ce') == ([10, 20, 30], [3.0, 2.4, 2.0])
    assert scalar_series(rows, 'acc') == ([30], [40.0])
    out = plot_training_curves({'ce': {'loss_ce': scalar_series(rows, 'loss_ce')},
                                'empty': {'missing': scalar_series(rows, 'nothing')}},
                               tmp_path / 'curves.png', 'title')
    assert (tmp_path / 'curves.png').stat().st_size > 1000 and out.endswith('curves.png')
    assert read_scalar_log(tmp_path / 'absent') == []
