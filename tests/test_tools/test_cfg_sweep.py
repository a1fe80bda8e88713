"""tools/test.py --cfg-sweep on a tiny generator: one score per guidance scale, same seeds."""
import json
import re

import numpy as np
import pytest
from PIL import Image
from tiny_test_setup import make_tiny_setup
from tiny_test_setup import run_test_tool as run_tool

from sar_mm.models.generators.scale_wise_ar import ScaleWiseAR

FID = 'fidelity/frechet_inception_distance'


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_setup(tmp_path_factory.mktemp('tiny'))


@pytest.fixture
def drawn(monkeypatch):
    """Every sample ``predict`` draws: guidance scale -> {sample_idx: (label, seed, image)}."""
    calls = {}
    predict = ScaleWiseAR.predict

    def spy(self, inputs, data_samples):
        out = predict(self, inputs, data_samples)
        for sample in out:
            calls.setdefault(self.sampling.cfg, {})[sample['sample_idx']] = (
                sample['label'], sample['seed'], sample['fake_img'].numpy().tobytes())
        return out

    monkeypatch.setattr(ScaleWiseAR, 'predict', spy)
    return calls


def test_one_score_per_scale_with_the_same_seed_per_image(setup, tmp_path, drawn):
    work = tmp_path / 'sweep'
    result = run_tool(setup, work, '--cfg-sweep', '3.0', '0.5')
    rows = result['cfg_sweep']
    assert [row['cfg'] for row in rows] == [3.0, 0.5]
    assert json.loads((work / 'cfg_sweep.json').read_text()) == rows
    with Image.open(work / 'cfg_sweep.png') as plot:
        assert plot.format == 'PNG' and min(plot.size) > 100

    # sample i has the same label and seed at every scale; the scale changes the image
    assert sorted(drawn) == [0.5, 3.0]
    low, high = drawn[0.5], drawn[3.0]
    assert sorted(low) == sorted(high) == list(range(setup['num_samples']))
    assert all(low[i][:2] == high[i][:2] for i in low)
    assert any(low[i][2] != high[i][2] for i in low)

    # each row is what a single run at that scale scores
    for row in rows:
        single = run_tool(setup, tmp_path / f'single_{row["cfg"]}', '--cfg-options',
                          f'model.test_cfg.cfg={row["cfg"]}')
        assert {k: v for k, v in row.items() if k != 'cfg'} == pytest.approx(single, abs=1e-6)
        assert np.isfinite(row[FID])


@pytest.mark.parametrize('values,match', [(['2.0', '-1.0'], 'test_cfg.cfg'),
                                          (['2.0', '2.0'], 'distinct')])
def test_bad_scales_fail_before_any_sampling(setup, tmp_path, drawn, values, match, capsys):
    with pytest.raises(SystemExit):
        run_tool(setup, tmp_path / 'wd', '--cfg-sweep', *values)
    assert re.search(match, capsys.readouterr().err)
    assert not drawn


def test_sweep_does_not_write_sample_folders(setup, tmp_path):
    with pytest.raises(SystemExit):
        run_tool(setup, tmp_path / 'wd', '--cfg-sweep', '2.0', '--save-dir', str(tmp_path / 's'))
