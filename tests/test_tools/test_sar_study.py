"""tools/analysis_tools/sar_study.py: the statistics on hand-made runs, and --quick end to end."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from script_loading import load_script

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'analysis_tools' / 'sar_study.py'
PATCH_NUMS = [1, 2, 3]


@pytest.fixture(scope='module')
def study():
    return load_script(SCRIPT, 'sar_mm_tools_sar_study')


def _exposure(gap, tf_acc=(60.0, 50.0, 40.0)):
    return dict(patch_nums=PATCH_NUMS, acc_gap=gap, tf_acc=list(tf_acc),
                rollout_acc=[t - g for t, g in zip(tf_acc, gap)])


def _run(fid, acc, gap_chain, gap_one_step, wall_s=2.0):
    """One evaluation result as sar_mm.toy.evaluate_model writes it."""
    return dict(fid=fid, class_acc=acc, precision=0.5, recall=0.4, wall_s=wall_s,
                exposure_bias=dict(chain=_exposure(gap_chain), one_step=_exposure(gap_one_step)))


def test_summary_pairs_every_arm_with_the_control_by_seed(study):
    control = [_run(3.0, 90.0, [0, 10, 20], [0, 5, 10]), _run(2.0, 92.0, [0, 12, 22], [0, 5, 9]),
               _run(4.0, 91.0, [0, 11, 21], [0, 6, 11])]
    # FID lower by 1, 1.2, 0.8; gaps smaller by 2 at scale 2 and 4 at scale 3 on every seed
    arm = [_run(2.0, 91.0, [0, 8, 16], [0, 5, 10]), _run(0.8, 92.0, [0, 10, 18], [0, 5, 9]),
           _run(3.2, 90.0, [0, 9, 17], [0, 6, 11])]
    pretrained = [_run(5.0, 80.0, [0, 20, 30], [0, 9, 15]), _run(4.0, 82.0, [0, 20, 30],
                                                                 [0, 9, 15]),
                  _run(6.0, 81.0, [0, 20, 30], [0, 9, 15])]
    runs = {'pretrained': pretrained, 'tf': control, 'sar': arm}
    summary = study.summarise(runs, {'tf': [10.0, 12.0, 14.0], 'sar': [20.0, 22.0, 24.0]},
                              dict(seeds=[0, 1, 2]))
    sar = summary['arms']['sar']
    fid = sar['vs_control']['fid']
    assert fid['values'] == pytest.approx([-1.0, -1.2, -0.8]) and fid['mean'] == pytest.approx(-1.0)
    half = 4.30265 * 0.2 / 3 ** 0.5  # t(0.975, 2) x sd / sqrt(n)
    assert (fid['ci_low'], fid['ci_high']) == pytest.approx((-1.0 - half, -1.0 + half), abs=1e-4)
    assert fid['excludes_zero'] is True
    assert sar['vs_control']['class_acc']['mean'] == pytest.approx(0.0)
    chain = sar['gap']['chain']
    assert [d['mean'] for d in chain['acc_gap_vs_control']] == pytest.approx([0, -2, -4])
    assert chain['mean_gap_vs_control']['mean'] == pytest.approx(-3.0)  # over scales 2..K
    # same teacher-forced accuracy: the smaller gap is all rolled-out accuracy
    assert chain['mean_rollout_acc_vs_control']['mean'] == pytest.approx(3.0)
    assert chain['mean_tf_acc_vs_control']['mean'] == pytest.approx(0.0)
    assert sar['gap']['one_step']['mean_gap_vs_control']['mean'] == pytest.approx(0.0)
    # the pretrained row shows what post-training does: control minus pretrained
    assert summary['arms']['pretrained']['vs_control']['fid']['mean'] == pytest.approx(-2.0)
    assert sar['cost_s'] == dict(eval=2.0, train=22.0)
    assert 'vs_control' not in summary['arms']['tf']


def test_unpaired_runs_are_refused(study):
    runs = {'tf': [_run(3.0, 90.0, [0, 1, 2], [0, 1, 2])] * 3,
            'sar': [_run(3.0, 90.0, [0, 1, 2], [0, 1, 2])] * 2}
    with pytest.raises(ValueError, match='sar: 2 seeds, the control has 3'):
        study.summarise(runs, {}, dict(seeds=[0, 1, 2]))


def test_quick_study_end_to_end(toy_quick_run):
    """Started in a finished quick toy run (as the README suggests): its stages are reused."""
    work_dir, _ = toy_quick_run
    result = subprocess.run([sys.executable, str(SCRIPT), '--work-dir', str(work_dir), '--quick'],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert 'flexvar_tiny_shapes_tf_pretrain: finished earlier, skipped' in result.stdout
    study_dir = work_dir / 'study'
    summary = json.loads((study_dir / 'study.json').read_text())
    assert summary['settings']['seeds'] == [0, 1]
    assert set(summary['arms']) == {'pretrained', 'tf', 'sar', 'sar_sigma0.1', 'sar_sigma1',
                                    'sar_all', 'sar_argmax', 'naive_sf'}
    for name, arm in summary['arms'].items():
        for mode in ('chain', 'one_step'):
            assert arm['gap'][mode]['patch_nums'] == [1, 2, 3, 4, 5, 6, 8]
        if name != 'tf':
            assert arm['vs_control']['fid']['n'] == 2
            assert len(arm['gap']['chain']['acc_gap_vs_control']) == 7
    assert summary['arms']['sar_all']['cost_s']['train'] > 0
    assert (study_dir / 'study_gaps.png').stat().st_size > 10000
    markdown = (study_dir / 'study.md').read_text()
    assert '| SAR, sigma 1.0 |' in markdown and '## Per-scale exposure-bias gap, `chain`' in markdown
    # the arms trained with what they say: sigma and rollout options reached the configs
    dumped = (study_dir / 'sar_sigma1_seed0').glob('*/vis_data/config.py')
    assert "sigma=1.0" in next(dumped).read_text()
    # a second call reuses everything
    again = subprocess.run([sys.executable, str(SCRIPT), '--work-dir', str(work_dir), '--quick'],
                           cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and 'sar_all_seed1: finished earlier, skipped' in again.stdout
