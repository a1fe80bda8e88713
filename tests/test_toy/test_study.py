"""sar_mm.toy.study and sar_mm.toy.stages: the entry point the stages run, the whole
pipeline draws, the one settings guard and the stage runs of the arms."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sar_mm.toy import stages
from sar_mm.toy import study as study_module
from sar_mm.toy.study import Arm, Study, finished_wall_s


class _Refused(Exception):
    pass


def test_stages_run_the_package_entry_point_not_tools_files(monkeypatch, tmp_path):
    commands = []

    def popen(cmd, **kwargs):
        commands.append(cmd)
        raise _Refused

    def run(cmd, **kwargs):
        commands.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, '', 'refused')

    monkeypatch.setattr(stages.subprocess, 'Popen', popen)
    monkeypatch.setattr(stages.subprocess, 'run', run)
    with pytest.raises(_Refused):
        stages.run_training(tmp_path, 'stage', 'vqvae_tiny_shapes.py', ['a=1'])
    with pytest.raises(SystemExit, match='latent extraction failed'):
        stages.extract_latents(tmp_path, 'tok.pth', [])
    train, latents = commands
    assert train[:4] == [sys.executable, '-m', 'sar_mm', 'train']
    assert train[4].endswith('configs/toy/vqvae_tiny_shapes.py')
    assert latents[:4] == [sys.executable, '-m', 'sar_mm', 'extract_latents']
    assert not any('tools' in Path(arg).parts for cmd in commands for arg in cmd)


def _fake_stages(monkeypatch):
    """Record the stages ``prepare_pretrained_toy`` trains, without training."""
    calls = []

    def run_training(work_dir, name, config, options, load_from=None):
        calls.append((work_dir, name, list(options)))
        return str(work_dir / name / 'last.pth')

    monkeypatch.setattr(stages, 'run_training', run_training)
    monkeypatch.setattr(stages, 'export_classifier', lambda work_dir, ckpt: ckpt)
    monkeypatch.setattr(stages, 'extract_latents',
                        lambda work_dir, tok, options: str(work_dir / 'latents.npz'))
    return calls


def test_pipeline_runs_draw_their_own_tokenizer_and_pretraining(monkeypatch, tmp_path):
    calls = _fake_stages(monkeypatch)
    first = stages.prepare_pretrained_toy(tmp_path, quick=True)
    assert all(d == tmp_path and not any('randomness' in o for o in opts)
               for d, _, opts in calls)  # pipeline 0: the stages as run_toy.py trains them
    calls.clear()
    second = stages.prepare_pretrained_toy(tmp_path, quick=True, pipeline=2)
    by_name = {name: (d, opts) for d, name, opts in calls}
    for name in ('vqvae_tiny_shapes', 'flexvar_tiny_shapes_tf_pretrain'):
        assert by_name[name][0] == tmp_path / 'pipeline2'
        assert 'randomness.seed=2' in by_name[name][1]
    # one FID feature extractor for every pipeline
    assert by_name['classifier_tiny_shapes'][0] == tmp_path
    assert second.classifier == first.classifier
    assert second.pretrained != first.pretrained
    assert str(tmp_path / 'pipeline2') in second.latent_option


def _study(work_dir: Path, quick: bool = True, seeds=(0, 1), out_name: str = 'study') -> Study:
    arms = (Arm('tf', 'control', 'flexvar_tiny_shapes_tf.py'),
            Arm('sar', 'SAR', 'flexvar_tiny_shapes_sar.py', ('model.loss.sigma=1.0', )))
    return Study(work_dir, arms, quick=quick, seeds=seeds, samples_per_class=2,
                 reference_images=10, exposure_images=4, out_name=out_name)


def test_one_settings_guard(tmp_path):
    settings = dict(quick=True, seeds=[0, 1])
    _study(tmp_path).check_settings(settings)
    assert json.loads((tmp_path / 'study' / 'settings.json').read_text()) == settings
    _study(tmp_path).check_settings(settings)  # the same settings: resumed
    with pytest.raises(SystemExit, match='holds a run with other settings'):
        _study(tmp_path).check_settings(dict(settings, seeds=[0, 2]))
    # stages of the other mode are refused, in the out dir and beside it
    toy = tmp_path / 'toy'
    _study(toy, quick=True, out_name='').check_settings(settings)
    with pytest.raises(SystemExit, match='holds a --quick toy run and this run is not --quick'):
        _study(toy, quick=False).check_settings(dict(settings, quick=False))
    with pytest.raises(SystemExit, match='holds a --quick toy run'):
        _study(toy, quick=False, out_name='').check_settings(dict(settings, quick=False))


def test_arms_train_paired_runs_from_the_pipelines_pretraining(monkeypatch, tmp_path):
    """Stage names, options and seeds of every arm; evaluation is not reached."""
    calls = _fake_stages(monkeypatch)
    monkeypatch.setattr(study_module, 'run_training', stages.run_training)  # the fake
    monkeypatch.setattr(study_module, 'toy_metric', _raise_refused)
    with pytest.raises(_Refused):
        _study(tmp_path).run(pipeline=1)
    post = [(d, name, opts) for d, name, opts in calls if name.startswith(('tf_', 'sar_'))]
    assert [(d, name) for d, name, _ in post] == [
        (tmp_path / 'pipeline1' / 'study', name)
        for name in ('tf_seed0', 'sar_seed0', 'tf_seed1', 'sar_seed1')]
    for _, name, opts in post:
        seed = name[-1]
        assert f'randomness.seed={seed}' in opts and f'model.scale_schedule.seed={seed}' in opts
        assert ('model.loss.sigma=1.0' in opts) == name.startswith('sar')
        assert (f'model.rollout.seed={seed}' in opts) == name.startswith('sar')


def _raise_refused(*args, **kwargs):
    raise _Refused


def test_finished_wall_s_reads_the_stage_markers(tmp_path):
    for name, wall in (('a', 1.5), ('b', 2.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'finished.json').write_text(json.dumps(dict(wall_s=wall)))
    (tmp_path / 'c').mkdir()  # unfinished
    assert finished_wall_s(tmp_path) == {'a': 1.5, 'b': 2.0}
