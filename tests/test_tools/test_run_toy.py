"""tools/run_toy.py --quick end to end: every stage, every output, and resuming.

One quick run (tokenizer, classifier, cached tokenizer latents, TF
pretraining, TF continuation and SAR for seed 0, evaluation and zero-shot
editing), then a second call after removing the SAR stage's
finished marker and evaluation: the finished stages are skipped, the SAR stage
resumes from its checkpoint instead of training again, and the results are
rebuilt.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_loading import load_script

REPO = Path(__file__).resolve().parents[2]
GROUPS = ('pretrained', 'tf_continued', 'sar')
SCALARS = ('fid', 'class_acc', 'isc', 'precision', 'recall')
PATCH_NUMS = [1, 2, 3, 4, 5, 6, 8]


def _run_toy(work_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'run_toy.py'), '--work-dir', str(work_dir),
         '--quick'], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope='module')
def toy_run(toy_quick_run):
    return toy_quick_run


def test_outputs(toy_run):
    work_dir, stdout = toy_run
    assert '| + SAR post-training |' in stdout  # the table is printed at the end
    for run in ('pretrained_seed0', 'tf_continued_seed0', 'sar_seed0'):
        samples = Image.open(work_dir / 'grids' / f'{run}_samples.png')
        assert samples.size == (10 * 34 + 2, 2 * 34 + 2)  # 20 samples of 32 px, 10 per row
        scales = Image.open(work_dir / 'grids' / f'{run}_scales.png')
        assert scales.size == (10 * 34 + 2, len(PATCH_NUMS) * 34 + 2)  # one row per scale
        # one held-out image of each class per row: input | known region | results
        for kind, results in (('inpaint', 3), ('outpaint', 3), ('edit', 1)):
            grid = Image.open(work_dir / 'grids' / f'{run}_{kind}.png')
            assert grid.size == ((2 + results) * 34 + 2, 10 * 34 + 2), kind
    for name in ('tokenizer', 'classifier', 'tf_pretrain', 'post_training'):
        assert (work_dir / 'curves' / f'{name}.png').stat().st_size > 1000
    assert (work_dir / 'exposure_bias.png').stat().st_size > 1000
    with np.load(work_dir / 'latents' / 'shapes_train.npz') as data:  # the quick mode's 640
        assert data['latents'].shape == (640, 2, 8, 8, 8)  # images, as is and mirrored

    results = json.loads((work_dir / 'results.json').read_text())
    assert results['settings']['seeds'] == [0] and results['settings']['quick'] is True
    assert results['settings']['edit_images'] == 20
    assert results['real']['class_acc'] > 60  # the toy classifier recognises real shapes
    for group in GROUPS:
        summary = results['summary'][group]
        for key in SCALARS:
            assert set(summary[key]) == {'mean', 'std', 'values'}
            assert len(summary[key]['values']) == 1
        for mode in ('chain', 'one_step'):
            eb = summary['exposure_bias'][mode]
            assert eb['patch_nums'] == PATCH_NUMS
            for key in ('tf_acc', 'rollout_acc', 'acc_gap', 'tf_loss', 'rollout_loss'):
                assert len(eb[key]['mean']) == len(PATCH_NUMS)
        for key in ('edit_target_acc', 'edit_source_acc', 'inpaint_acc'):
            (value, ) = summary['editing'][key]['values']
            assert 0 <= value <= 100
    paired = results['sar_minus_tf']['fid']['mean']
    expected = (results['summary']['sar']['fid']['mean']
                - results['summary']['tf_continued']['fid']['mean'])
    assert paired == pytest.approx(expected)
    markdown = (work_dir / 'results.md').read_text()
    for title in ('| real held-out images |', '| + teacher-forcing continuation |',
                  '## Exposure bias, `chain`', '## Exposure bias, `one_step`',
                  '## Zero-shot image-to-image', '| model | edit: requested class ↑ |'):
        assert title in markdown


def _result(fid, acc):
    """One evaluation result (with editing) as sar_mm.toy.Study writes it."""
    exposure = {key: [50.0, 40.0] for key in ('tf_acc', 'rollout_acc', 'acc_gap', 'tf_loss',
                                               'rollout_loss')}
    return dict(fid=fid, class_acc=acc, isc=8.0, precision=0.7, recall=0.5,
                exposure_bias=dict(chain=dict(exposure, patch_nums=[1, 2]),
                                   one_step=dict(exposure, patch_nums=[1, 2])),
                editing=dict(edit_target_acc=50.0, edit_source_acc=40.0, inpaint_acc=90.0))


def test_sar_minus_tf_is_the_paired_t_interval_over_seeds():
    """The same paired statistics as the study's: mean difference and 95 % t interval."""
    run_toy = load_script(REPO / 'tools' / 'run_toy.py', 'sar_mm_tools_run_toy')
    runs = dict(pretrained=[_result(4.0, 90.0)] * 3,
                tf_continued=[_result(3.0, 90.0), _result(2.0, 92.0), _result(4.0, 91.0)],
                sar=[_result(2.0, 91.0), _result(0.8, 92.0), _result(3.2, 90.0)])
    settings = dict(seeds=[0, 1, 2], samples_per_class=5, reference_images=10,
                    exposure_images=4, edit_images=10)
    recipe = dict(post_iters=4, batch_size=8, sar='SAR')
    results = run_toy.summarise(runs, dict(fid=0.1, class_acc=100.0, isc=9.0, precision=0.9,
                                           recall=0.9), settings, recipe, {},
                                dict(codebook=None, reconstruction=None))
    fid = results['sar_minus_tf']['fid']
    half = 4.30265 * 0.2 / 3 ** 0.5  # t(0.975, 2) x sd / sqrt(n)
    assert fid['mean'] == pytest.approx(-1.0) and fid['std'] == pytest.approx(0.2)
    assert (fid['ci_low'], fid['ci_high']) == pytest.approx((-1.0 - half, -1.0 + half), abs=1e-4)
    assert fid['values'] == pytest.approx([-1.0, -1.2, -0.8]) and fid['n'] == 3
    assert f'FID -1.00 [{-1.0 - half:+.2f}, {-1.0 + half:+.2f}] *' in run_toy.results_markdown(
        results)


def test_rerun_skips_finished_stages_and_resumes_an_interrupted_one(toy_run):
    work_dir, _ = toy_run
    sar_dir = work_dir / 'flexvar_tiny_shapes_sar_seed0'
    (sar_dir / 'finished.json').unlink()
    (work_dir / 'eval' / 'sar_seed0.json').unlink()
    (work_dir / 'eval' / 'sar_seed0_editing.json').unlink()
    before = json.loads((work_dir / 'results.json').read_text())
    stdout = _run_toy(work_dir)
    for stage in ('vqvae_tiny_shapes', 'classifier_tiny_shapes', 'flexvar_tiny_shapes_tf_pretrain',
                  'flexvar_tiny_shapes_tf_seed0'):
        assert f'{stage}: finished earlier, skipped' in stdout
    assert 'latents: extracted earlier, reused' in stdout
    assert 'flexvar_tiny_shapes_sar_seed0: training' in stdout
    assert 'resumed epoch: 1' in (sar_dir / 'train.log').read_text()  # not trained again
    after = json.loads((work_dir / 'results.json').read_text())
    # same checkpoint, same sampling seeds: the same scores and edits
    assert after['summary'] == before['summary']
