"""Probes of the evaluation tools: test.py, eval_folders.py, make_fid_ref_stats.py, converters.

Each probe runs the real script in this process on the tiny generator of
``tests/test_tools/tiny_test_setup.py`` (9 samples of 16 px, the 8-d tiny feature
extractor). User errors must end as one line naming the input and the fix;
legitimate inputs must run, and ``check`` verifies that nothing a user had was
overwritten and that outputs record what made them.
"""
import functools
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from probe_battery import REPO, Probe, assert_probe
from script_loading import load_script

from sar_mm.registry import MODELS
from sar_mm.testing.tiny_feature_extractor import TINY_EXTRACTOR, random_images, write_png_folder

TEST = 'tools/test.py'
EVAL = 'tools/analysis_tools/eval_folders.py'
REF = 'tools/analysis_tools/make_fid_ref_stats.py'
VAR = 'tools/model_converters/var_to_sarmm.py'
FLEX = 'tools/model_converters/flexvar_to_sarmm.py'


@functools.lru_cache(maxsize=None)
def tiny() -> dict:
    """The tiny config, checkpoint and real folder, made once per session."""
    setup_module = load_script(REPO / 'tests' / 'test_tools' / 'tiny_test_setup.py',
                               'tiny_test_setup_for_probes')
    setup = setup_module.make_tiny_setup(Path(tempfile.mkdtemp(prefix='probe_tiny_')))
    setup['model'] = setup_module.MODEL
    return setup


def run_test_tool(*argv) -> dict:
    """``tools/test.py`` on the tiny setup, in this process (to prepare a probe)."""
    DefaultScope._instance_dict.clear()
    tool = load_script(REPO / TEST, 'sar_mm_test_tool_for_probes')
    return tool.main([tiny()['config'], tiny()['checkpoint'], *map(str, argv)])


def tool_args(tmp: Path, *extra, checkpoint=None) -> list:
    return [tiny()['config'], checkpoint or tiny()['checkpoint'], '--work-dir', tmp / 'work',
            *extra]


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def pngs(folder: Path) -> dict:
    """name -> (mtime, digest) of the PNGs of a sample folder."""
    return {p.name: (p.stat().st_mtime_ns, digest(p)) for p in sorted(folder.glob('*.png'))}


def keep(tmp: Path, *names: str) -> None:
    """Remember the state of files / folders under ``tmp`` before the probe runs."""
    state = {name: pngs(tmp / name) if (tmp / name).is_dir() else digest(tmp / name)
             for name in names}
    (tmp / 'kept.json').write_text(json.dumps(state))


def unchanged(tmp: Path) -> None:
    """``check``: what :func:`keep` remembered is still there, unchanged."""
    for name, before in json.loads((tmp / 'kept.json').read_text()).items():
        now = pngs(tmp / name) if (tmp / name).is_dir() else digest(tmp / name)
        now = json.loads(json.dumps(now))
        assert now == before, f'{name} was changed'


# ---- inputs ------------------------------------------------------------------------------

def other_family_checkpoint(tmp: Path) -> Path:
    """A generator of another depth and vocabulary: every backbone key or shape differs."""
    model = dict(tiny()['model'])
    model['backbone'] = dict(model['backbone'], depth=2)
    path = tmp / 'depth2.pth'
    torch.save(dict(state_dict=MODELS.build(model).state_dict()), path)
    return path


def perturbed_checkpoint(tmp: Path) -> Path:
    state = torch.load(tiny()['checkpoint'], weights_only=True)
    state['state_dict'] = {k: v + 0.01 if v.is_floating_point() else v
                           for k, v in state['state_dict'].items()}
    path = tmp / 'other.pth'
    torch.save(state, path)
    return path


def stats_npz(tmp: Path, mu: np.ndarray, name: str = 'ref.npz', num_images: int = 100) -> Path:
    path = tmp / name
    np.savez(path, mu=mu, sigma=np.eye(mu.shape[0]), feature_extractor=np.array(TINY_EXTRACTOR),
             feature_layer=np.array('feat'), num_images=np.array(num_images))
    return path


def pickled_weights(tmp: Path) -> Path:
    """A weight file that pickles a Python object besides its tensors."""
    path = tmp / 'inception_pickled.pth'
    torch.save(dict(w=torch.zeros(1), note=Path('x')), path)
    return path


def bogus_weights(tmp: Path) -> Path:
    path = tmp / 'inception_bogus.pth'
    path.write_text('<html>404 Not Found</html>')
    return path


def sampled_folder(tmp: Path, *extra) -> Path:
    """A sample folder made by a finished test.py run."""
    run_test_tool('--work-dir', tmp / 'work0', '--save-dir', tmp / 'samples', *extra)
    return tmp / 'samples'


def real_and_fake(tmp: Path) -> tuple:
    write_png_folder(tmp / 'real', random_images(10, seed=1))
    write_png_folder(tmp / 'fake', random_images(10, seed=2, shift=20))
    return tmp / 'real', tmp / 'fake'


def adm_batch(tmp: Path, name: str = 'VIRTUAL_tiny_labeled.npz') -> Path:
    path = tmp / name
    np.savez(path, arr_0=random_images(10, seed=3).permute(0, 2, 3, 1).numpy())
    return path


def empty_file(tmp: Path, name: str) -> Path:
    (tmp / name).write_bytes(b'')
    return tmp / name


def truncated_batch(tmp: Path) -> Path:
    """The first 3000 bytes of an ADM batch, as a copy that stopped early leaves it."""
    (tmp / 'batch.npz').write_bytes(adm_batch(tmp).read_bytes()[:3000])
    return tmp / 'batch.npz'


# ---- builds ------------------------------------------------------------------------------

def b_stale_cfg(tmp):
    sampled_folder(tmp)
    keep(tmp, 'samples')
    return tool_args(tmp, '--save-dir', tmp / 'samples', '--cfg-options',
                     'model.test_cfg.cfg=3.0')


def b_stale_checkpoint(tmp):
    sampled_folder(tmp)
    keep(tmp, 'samples')
    return tool_args(tmp, '--save-dir', tmp / 'samples', checkpoint=perturbed_checkpoint(tmp))


def b_unknown_samples(tmp):
    write_png_folder(tmp / 'samples', random_images(3, seed=4))
    keep(tmp, 'samples')
    return tool_args(tmp, '--save-dir', tmp / 'samples')


def b_resume(tmp):
    folder = sampled_folder(tmp)
    for name in ('000002.png', '000007.png'):
        (folder / name).unlink()
    keep(tmp, 'samples')
    return tool_args(tmp, '--save-dir', folder)


def c_resume(tmp):
    before = json.loads((tmp / 'kept.json').read_text())['samples']
    now = pngs(tmp / 'samples')
    assert sorted(now) == [f'{i:06d}.png' for i in range(9)]
    assert all(tuple(now[name]) == tuple(value) for name, value in before.items())


def b_overwrite(tmp):
    sampled_folder(tmp)
    return tool_args(tmp, '--save-dir', tmp / 'samples', '--overwrite', '--cfg-options',
                     'model.test_cfg.cfg=3.0')


def c_overwrite(tmp):
    record = json.loads((tmp / 'samples' / 'sar_mm_samples.json').read_text())
    assert record['settings']['model']['test_cfg']['cfg'] == 3.0
    assert len(pngs(tmp / 'samples')) == 9


def b_out_unknown(tmp):
    (tmp / 'metrics.json').write_text('{"fid": 3.1}\n')
    keep(tmp, 'metrics.json')
    return tool_args(tmp, '--out', tmp / 'metrics.json')


def not_json(constant: str):
    raise AssertionError(f'bare {constant} is not JSON')


def c_results(tmp):
    """The --out JSON is valid JSON and records checkpoint digest, settings and version."""
    written = json.loads((tmp / 'metrics.json').read_text(), parse_constant=not_json)
    assert 'fidelity/frechet_inception_distance' in written['metrics']
    provenance = written['provenance']
    assert provenance['checkpoint']['sha256'] == digest(Path(tiny()['checkpoint']))
    assert provenance['settings']['model']['test_cfg']['cfg'] == 1.5
    assert provenance['sar_mm_version']


def c_npz(tmp):
    with np.load(tmp / 'samples.npz') as data:
        assert data['arr_0'].shape == (9, 16, 16, 3)
        provenance = json.loads(str(data['provenance']))
    assert provenance['checkpoint']['sha256'] == digest(Path(tiny()['checkpoint']))
    assert not list(tmp.glob('.*.partial'))


def c_few_samples_warned(tmp):
    logs = ''.join(p.read_text() for p in (tmp / 'work').rglob('*.log'))
    assert 'come from 6 images, fewer than the 8 feature dimensions' in logs


def no_samples(tmp):
    """``check``: nothing was sampled (the prerequisite failed first)."""
    assert not list((tmp / 'samples').glob('*.png'))


def b_eval_out_other(tmp):
    real, fake = real_and_fake(tmp)
    load_script(REPO / EVAL, 'eval_folders_for_probes').main(
        [str(real), str(fake), '--metrics', 'isc', '--feature-extractor', TINY_EXTRACTOR,
         '--isc-splits', '2', '--device', 'cpu', '--out', str(tmp / 'm.json')])
    keep(tmp, 'm.json')
    return [real, fake, '--metrics', 'fid', '--feature-extractor', TINY_EXTRACTOR, '--device',
            'cpu', '--out', tmp / 'm.json']


def c_eval_out(tmp):
    written = json.loads((tmp / 'm.json').read_text())
    assert set(written['metrics']) == {'frechet_inception_distance'}
    assert written['provenance']['settings']['fake'] == str(tmp / 'fake')


def b_ref_out_other(tmp):
    real, _ = real_and_fake(tmp)
    load_script(REPO / REF, 'make_fid_ref_stats_for_probes').main(
        [str(real), str(tmp / 'ref.npz'), '--size', '0', '--feature-extractor', TINY_EXTRACTOR,
         '--device', 'cpu'])
    keep(tmp, 'ref.npz')
    return [real, tmp / 'ref.npz', '--size', '8', '--feature-extractor', TINY_EXTRACTOR,
            '--device', 'cpu']


def c_ref_npz(tmp):
    with np.load(tmp / 'ref.npz') as data:
        assert int(data['num_images']) == 10
        provenance = json.loads(str(data['provenance']))
    assert provenance['settings']['images'] == str(tmp / 'VIRTUAL_tiny_labeled.npz')


def b_adm(tmp):
    adm_batch(tmp)
    keep(tmp, 'VIRTUAL_tiny_labeled.npz')
    return [tmp / 'VIRTUAL_tiny_labeled.npz', tmp / 'VIRTUAL_tiny_labeled.npz', '--size', '0',
            '--feature-extractor', TINY_EXTRACTOR, '--device', 'cpu']


def b_converter_same(tmp):
    torch.save(dict(w=torch.zeros(2)), tmp / 'var_d16.pth')
    torch.save(dict(w=torch.zeros(2)), tmp / 'vae.pth')
    keep(tmp, 'var_d16.pth')
    return [tmp / 'var_d16.pth', tmp / 'vae.pth', tmp / 'var_d16.pth']


def b_flex_same(tmp):
    torch.save(dict(w=torch.zeros(2)), tmp / 'FlexVARd16-epo179.pth')
    torch.save(dict(w=torch.zeros(2)), tmp / 'FlexVAE.pth')
    keep(tmp, 'FlexVAE.pth')
    return [tmp / 'FlexVARd16-epo179.pth', tmp / 'FlexVAE.pth', tmp / '.' / 'FlexVAE.pth']


def evaluator(reference=None, **options) -> list:
    """``--cfg-options`` that change the test evaluator."""
    pairs = dict(options, **({} if reference is None else {'reference': reference}))
    return ['--cfg-options', *(f'test_evaluator.{key}={value}' for key, value in pairs.items())]


INCEPTION = dict(feature_extractor='inception-v3-compat')

PROBES = [
    # 1. one strict loading path
    Probe('test-other-family-checkpoint', TEST,
          lambda t: tool_args(t, checkpoint=other_family_checkpoint(t)),
          mentions=('depth2.pth', 'does not fit', 'unexpected keys: backbone.blocks.1')),
    Probe('test-other-family-checkpoint-save-dir', TEST,
          lambda t: tool_args(t, '--save-dir', t / 'samples',
                              checkpoint=other_family_checkpoint(t)),
          mentions=('depth2.pth', 'does not fit'), check=no_samples),
    # 2. outputs that know what made them
    Probe('test-save-dir-other-cfg', TEST, b_stale_cfg,
          mentions=('model.test_cfg.cfg: 1.5 -> 3.0', '--overwrite', 'new folder'),
          check=unchanged),
    Probe('test-save-dir-other-checkpoint', TEST, b_stale_checkpoint,
          mentions=('checkpoint.sha256', '--overwrite'), check=unchanged),
    Probe('test-save-dir-samples-without-record', TEST, b_unknown_samples,
          mentions=('3 samples without a record', '--overwrite'), check=unchanged),
    Probe('test-save-dir-resume-same-settings', TEST, b_resume, expect='handled',
          check=c_resume),
    Probe('test-save-dir-overwrite', TEST, b_overwrite, expect='handled', check=c_overwrite),
    Probe('test-out-without-record', TEST, b_out_unknown,
          mentions=('metrics.json', 'records no sar_mm settings', '--overwrite'),
          check=unchanged),
    Probe('test-out-is-directory', TEST, lambda t: tool_args(t, '--out', t),
          mentions=('--out', 'is a directory')),
    Probe('test-out-records-provenance', TEST,
          lambda t: tool_args(t, '--out', t / 'metrics.json'), expect='handled',
          check=c_results),
    Probe('test-save-npz-records-provenance', TEST,
          lambda t: tool_args(t, '--save-dir', t / 'samples', '--save-npz', t / 'samples.npz'),
          expect='handled', check=c_npz),
    # 5. metrics that cannot be trusted
    Probe('test-reference-with-nan', TEST,
          lambda t: tool_args(t, *evaluator(stats_npz(t, np.full(8, np.nan)), prc=False)),
          mentions=('ref.npz', 'NaN or inf')),
    Probe('test-fid-from-fewer-samples-than-dims', TEST,
          lambda t: tool_args(t, '--cfg-options', 'test_dataloader.dataset.samples_per_class=2',
                              f'experiment_name=few_samples_{t.name}'),  # its own log file
          expect='handled', check=c_few_samples_warned),
    # 6 and 11. prerequisites before any sampling
    Probe('test-missing-adm-reference-batch', TEST,
          lambda t: tool_args(t, '--save-dir', t / 'samples',
                              *evaluator(t / 'VIRTUAL_imagenet256_labeled.npz')),
          mentions=('VIRTUAL_imagenet256_labeled.npz', 'openai/guided-diffusion',
                    'test_evaluator.reference'), check=no_samples),
    Probe('test-empty-reference-npz', TEST,
          lambda t: tool_args(t, '--save-dir', t / 'samples', *evaluator(empty_file(t, 'ref.npz'))),
          mentions=('ref.npz', 'not a readable .npz'), check=no_samples),
    Probe('test-bogus-feature-weights', TEST,
          lambda t: tool_args(t, '--save-dir', t / 'samples', *evaluator(
              **INCEPTION, feature_extractor_weights_path=bogus_weights(t))),
          mentions=('inception_bogus.pth', 'is not a checkpoint',
                    'test_evaluator.feature_extractor_weights_path'), check=no_samples),
    Probe('test-pickled-feature-weights', TEST,
          lambda t: tool_args(t, '--save-dir', t / 'samples', *evaluator(
              **INCEPTION, feature_extractor_weights_path=pickled_weights(t))),
          mentions=('inception_pickled.pth', 'pathlib', '--trust-checkpoint'), check=no_samples),
    Probe('test-save-dir-is-a-file', TEST,
          lambda t: tool_args(t, '--save-dir', empty_file(t, 'samples.txt')),
          mentions=('--save-dir', 'samples.txt', 'not a folder')),
    Probe('test-save-npz-is-directory', TEST,
          lambda t: tool_args(t, '--save-npz', t),
          mentions=('--save-npz', 'is a directory'), check=no_samples),
    # eval_folders.py
    Probe('eval-missing-folder', EVAL, lambda t: [t / 'no_real', t],
          mentions=('no_real', 'not a folder')),
    Probe('eval-missing-weights-names-its-flag', EVAL,
          lambda t: [*real_and_fake(t), '--feature-weights', t / 'absent.pth'],
          mentions=('absent.pth', '--feature-weights')),
    Probe('eval-bogus-weights', EVAL,
          lambda t: [*real_and_fake(t), '--feature-weights', bogus_weights(t)],
          mentions=('inception_bogus.pth', 'not a checkpoint')),
    Probe('eval-pickled-weights-need-trust', EVAL,
          lambda t: [*real_and_fake(t), '--feature-weights', pickled_weights(t)],
          mentions=('inception_pickled.pth', '--trust-checkpoint')),
    Probe('eval-out-other-settings', EVAL, b_eval_out_other,
          mentions=('m.json', 'settings.metrics', '--overwrite'), check=unchanged),
    Probe('eval-out-overwrite', EVAL,
          lambda t: [*b_eval_out_other(t), '--overwrite'], expect='handled', check=c_eval_out),
    # make_fid_ref_stats.py
    Probe('ref-missing-adm-batch', REF,
          lambda t: [t / 'VIRTUAL_imagenet256_labeled.npz', t / 'ref.npz'],
          mentions=('VIRTUAL_imagenet256_labeled.npz', 'openai/guided-diffusion')),
    Probe('ref-empty-npz', REF,
          lambda t: [empty_file(t, 'batch.npz'), t / 'ref.npz'],
          mentions=('batch.npz', 'not a readable .npz')),
    Probe('ref-truncated-npz', REF,
          lambda t: [truncated_batch(t), t / 'ref.npz', '--size', '0'],
          mentions=('batch.npz', 'not a readable .npz')),
    Probe('ref-out-is-the-input', REF, b_adm,
          mentions=('VIRTUAL_tiny_labeled.npz', 'is the input'), check=unchanged),
    Probe('ref-out-other-settings', REF, b_ref_out_other,
          mentions=('ref.npz', 'settings.size: 0 -> 8', '--overwrite'), check=unchanged),
    Probe('ref-out-is-directory', REF,
          lambda t: [adm_batch(t), t, '--size', '0', '--feature-extractor', TINY_EXTRACTOR],
          mentions=('OUT', 'is a directory')),
    Probe('ref-pickled-weights-need-trust', REF,
          lambda t: [adm_batch(t), t / 'ref.npz', '--size', '0', '--feature-weights',
                     pickled_weights(t)],
          mentions=('inception_pickled.pth', '--trust-checkpoint')),
    Probe('ref-from-adm-batch', REF,
          lambda t: [adm_batch(t), t / 'ref.npz', '--size', '0', '--feature-extractor',
                     TINY_EXTRACTOR, '--device', 'cpu'], expect='handled', check=c_ref_npz),
    # 3. converters never write over their inputs
    Probe('var-converter-out-is-input', VAR, b_converter_same,
          mentions=('var_d16.pth', 'is the input'), check=unchanged),
    Probe('flexvar-converter-out-is-input', FLEX, b_flex_same,
          mentions=('FlexVAE.pth', 'is the input'), check=unchanged),
    Probe('var-converter-out-is-directory', VAR,
          lambda t: [*b_converter_same(t)[:2], t],
          mentions=('is a directory',)),
]


@pytest.mark.parametrize('probe', PROBES, ids=lambda p: p.id)
def test_probe(probe, tmp_path):
    DefaultScope._instance_dict.clear()  # each in-process Runner starts from a clean scope
    assert_probe(probe, tmp_path)
