"""tools/analysis_tools/sar_study.py: --pipelines on hand-made runs, and --quick end to end
(the statistics: tests/test_toy/test_arm_comparison.py)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from script_loading import load_script

from sar_mm.toy.study import PipelineRuns

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'analysis_tools' / 'sar_study.py'
PATCH_NUMS = [1, 2, 3]


@pytest.fixture(scope='module')
def study():
    return load_script(SCRIPT, 'sar_mm_tools_sar_study')


def _run(fid, gap, wall_s=2.0):
    """One evaluation result as sar_mm.toy.evaluate_model writes it."""
    exposure = dict(patch_nums=PATCH_NUMS, acc_gap=gap, tf_acc=[60.0, 50.0, 40.0],
                    rollout_acc=[60.0 - g for g in gap])
    return dict(run='r', fid=fid, class_acc=90.0, precision=0.5, recall=0.4, wall_s=wall_s,
                exposure_bias=dict(chain=exposure, one_step=exposure))


def _pipeline_runs(arms, sar_fid_delta):
    control = [_run(3.0, [0, 10, 20]), _run(2.0, [0, 12, 22])]
    runs = {'pretrained': [_run(c['fid'] + 1.0, [0, 20, 30]) for c in control], 'tf': control}
    for arm in arms[1:]:  # gaps 2 and 4 pp smaller at scales 2 and 3 on every seed
        runs[arm.name] = [_run(c['fid'] + d, [g - k for g, k in zip(c['exposure_bias']['chain']
                                                                     ['acc_gap'], (0, 2, 4))])
                          for c, d in zip(control, sar_fid_delta)]
    return PipelineRuns(runs=runs, real={}, recipe=dict(post_iters=4, batch_size=8, sar='SAR'),
                        train_wall_s={name: [1.0, 1.0] for name in runs if name != 'pretrained'},
                        tokenizer_health=dict(codebook=None, reconstruction=None))


def test_pipelines_repeat_the_comparison_and_the_verdict_says_whether_it_holds(
        study, monkeypatch, tmp_path):
    """--pipelines 3: every pipeline run's comparison, the pooled one, and the verdict."""
    draws = {0: (-1.0, -1.2), 1: (-0.9, -1.1), 2: (0.8, 1.2)}  # the third pipeline disagrees
    asked = []

    def run(self, pipeline=0):
        asked.append(pipeline)
        return _pipeline_runs(study.ARMS, draws[pipeline])

    monkeypatch.setattr(study.Study, 'run', run)
    summary = study.main(['--work-dir', str(tmp_path), '--quick', '--pipelines', '3'])
    assert asked == [0, 1, 2]
    assert len(summary['pipelines']) == 3
    assert summary['pipelines'][2]['sar']['vs_control']['fid']['mean'] == pytest.approx(1.0)
    pooled = summary['arms']['sar']['vs_control']['fid']
    assert pooled['n'] == 6 and pooled['mean'] == pytest.approx(-2.2 / 6)
    verdict = summary['across_pipelines']['sar']['fid']
    assert verdict['significant'] == 0 and not verdict['same_sign'] and not verdict['holds']
    assert summary['across_pipelines']['sar']['mean_gap_chain']['holds']  # -3 pp on every pair
    markdown = (tmp_path / 'study' / 'study.md').read_text()
    assert '## Across 3 pipeline runs' in markdown and 'paired by (pipeline, seed)' in markdown
    assert json.loads((tmp_path / 'study' / 'study.json').read_text())['pipelines']
    # one pipeline: the study as before, no verdict
    single = study.main(['--work-dir', str(tmp_path), '--quick'])
    assert 'pipelines' not in single and single['arms']['sar']['vs_control']['fid']['n'] == 2
    assert '## Across' not in (tmp_path / 'study' / 'study.md').read_text()


def test_pipelines_must_be_positive(study):
    with pytest.raises(SystemExit):
        study.parse_args(['--work-dir', 'w', '--pipelines', '0'])


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
