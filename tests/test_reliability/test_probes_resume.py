"""Probes of what ``tools/train.py`` resumes and trains on: trust and provenance.

Each probe trains the tiny configs of ``tests/data/configs`` for an epoch (a few
seconds) in a child process, as a user would run them. One finished run and one
latent file (with its tokenizer checkpoints) are made once for the module and
copied by the probes that start from them.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from probe_battery import REPO, Probe, assert_probe
from reliability_runs import env

from sar_mm.registry import TOKENIZERS
from sar_mm.utils.checkpoint_io import load_checkpoint_file

CONFIGS = REPO / 'tests' / 'data' / 'configs'
SAR_CONFIG = CONFIGS / 'tiny_flexvar_sar.py'
LATENT_CONFIG = CONFIGS / 'tiny_flexvar_latent.py'
#: what every probe may copy: 'run' (a finished one-epoch run), 'latents' (latents.npz of
#: tok_a.pth, and tok_b.pth of another tokenizer)
SHARED = {}
ONE_EPOCH = ('--cfg-options', 'train_cfg.max_epochs=1')
TWO_EPOCHS = ('--cfg-options', 'train_cfg.max_epochs=2')


def _train(work_dir: Path) -> None:
    """A finished one-epoch run of the tiny SAR config (``epoch_1.pth``, ``last_checkpoint``)."""
    done = subprocess.run([sys.executable, 'tools/train.py', str(SAR_CONFIG), '--work-dir',
                           str(work_dir), *ONE_EPOCH], cwd=REPO, capture_output=True,
                          text=True, env=env())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _log(work_dir: Path) -> str:
    return '\n'.join(path.read_text() for path in sorted(work_dir.glob('*/*.log')))


def _resumed_epoch(work_dir: Path) -> bool:
    return 'resumed epoch: 1' in _log(work_dir)


# --- --resume auto in a copied work directory --------------------------------------------------

def _original(tmp: Path) -> Path:
    """This probe's copy of the finished run, with its last_checkpoint pointing into it."""
    shutil.copytree(SHARED['run'], tmp / 'original')
    (tmp / 'original' / 'last_checkpoint').write_text(str(tmp / 'original' / 'epoch_1.pth'))
    return tmp / 'original'


def _copied_work_dir(tmp: Path) -> list:
    """A copy of a finished run whose own checkpoint is truncated; last_checkpoint still names
    the original directory's (complete) file."""
    shutil.copytree(_original(tmp), tmp / 'copy')
    own = tmp / 'copy' / 'epoch_1.pth'
    own.write_bytes(own.read_bytes()[:1000])
    assert (tmp / 'copy' / 'last_checkpoint').read_text().strip() == \
        str(tmp / 'original' / 'epoch_1.pth')
    return [SAR_CONFIG, '--work-dir', tmp / 'copy', '--resume', 'auto', *ONE_EPOCH]


def _trained_afresh(tmp: Path) -> None:
    assert not _resumed_epoch(tmp / 'copy'), 'resumed from the original directory\'s checkpoint'
    load_checkpoint_file(tmp / 'copy' / 'epoch_1.pth', trust_checkpoint=True)  # written again


# --- --resume PATH outside the work directory --------------------------------------------------

def _resume_foreign(tmp: Path, *extra: str) -> list:
    _original(tmp)
    return [SAR_CONFIG, '--work-dir', tmp / 'new', '--resume', tmp / 'original' / 'epoch_1.pth',
            *TWO_EPOCHS, *extra]


def _resume_trusted(tmp: Path) -> list:
    return _resume_foreign(tmp, '--trust-checkpoint', tmp / 'original' / 'epoch_1.pth')


def _resumed_into_new(tmp: Path) -> None:
    assert _resumed_epoch(tmp / 'new') and (tmp / 'new' / 'epoch_2.pth').is_file()


def _nothing_written(tmp: Path) -> None:
    assert not list((tmp / 'new').glob('*.pth')), 'the untrusted checkpoint was resumed'


# --- legitimate --resume auto ------------------------------------------------------------------

def _resume_own(tmp: Path) -> list:
    shutil.copytree(_original(tmp), tmp / 'work')
    (tmp / 'work' / 'last_checkpoint').write_text(str(tmp / 'work' / 'epoch_1.pth'))
    return [SAR_CONFIG, '--work-dir', tmp / 'work', '--resume', 'auto', *TWO_EPOCHS]


def _resumed_own(tmp: Path) -> None:
    assert _resumed_epoch(tmp / 'work') and (tmp / 'work' / 'epoch_2.pth').is_file()


# --- latents of another tokenizer --------------------------------------------------------------

def _tokenizer_checkpoint(path: Path, seed: int) -> None:
    """``tokenizer.*`` weights of the latent config's tokenizer, drawn from ``seed``."""
    torch.manual_seed(seed)
    tokenizer = TOKENIZERS.build(Config.fromfile(LATENT_CONFIG).model.tokenizer.to_dict())
    torch.save(dict(state_dict={f'tokenizer.{k}': v for k, v in tokenizer.state_dict().items()}),
               path)


def _latent_files(directory: Path) -> Path:
    """tok_a.pth, tok_b.pth and latents.npz, extracted with tok_a.pth."""
    directory.mkdir()
    _tokenizer_checkpoint(directory / 'tok_a.pth', seed=1)
    _tokenizer_checkpoint(directory / 'tok_b.pth', seed=2)
    done = subprocess.run([sys.executable, 'tools/extract_latents.py', str(LATENT_CONFIG),
                           str(directory / 'tok_a.pth'), '--out', str(directory / 'latents.npz')],
                          cwd=REPO, capture_output=True, text=True, env=env())
    assert done.returncode == 0, done.stderr[-2000:]
    return directory


@pytest.fixture(scope='module', autouse=True)
def shared_files(tmp_path_factory):
    SHARED['run'] = tmp_path_factory.mktemp('finished_run') / 'work'
    _train(SHARED['run'])
    SHARED['latents'] = _latent_files(tmp_path_factory.mktemp('latents') / 'files')
    yield
    SHARED.clear()


def _latent_training(tmp: Path, trained_tokenizer: str) -> list:
    """Latents extracted with tok_a.pth; training loads ``trained_tokenizer``."""
    for name in ('tok_a.pth', 'tok_b.pth', 'latents.npz'):
        shutil.copy(SHARED['latents'] / name, tmp / name)
    return [LATENT_CONFIG, '--work-dir', tmp / 'work', '--cfg-options',
            f'train_dataloader.dataset.latent_file={tmp / "latents.npz"}',
            f'load_from={tmp / trained_tokenizer}']


def _trained_on_latents(tmp: Path) -> None:
    assert (tmp / 'work' / 'epoch_1.pth').is_file()


def _nothing_trained(tmp: Path) -> None:
    assert not (tmp / 'work' / 'epoch_1.pth').exists(), 'trained on the foreign latents'


PROBES = [
    Probe('train-resume-auto-foreign-last-checkpoint', 'tools/train.py', _copied_work_dir,
          expect='handled', check=_trained_afresh, isolated=True),
    Probe('train-resume-path-outside-work-dir', 'tools/train.py', _resume_foreign,
          mentions=('epoch_1.pth', '--trust-checkpoint'), check=_nothing_written, isolated=True),
    Probe('train-resume-path-outside-work-dir-trusted', 'tools/train.py', _resume_trusted,
          expect='handled', check=_resumed_into_new, isolated=True),
    Probe('train-resume-auto-own-work-dir', 'tools/train.py', _resume_own, expect='handled',
          check=_resumed_own, isolated=True),
    Probe('train-latents-of-the-model-tokenizer', 'tools/train.py',
          lambda tmp: _latent_training(tmp, 'tok_a.pth'), expect='handled',
          check=_trained_on_latents, isolated=True),
]


@pytest.mark.parametrize('probe', PROBES, ids=lambda p: p.id)
def test_probe(probe, tmp_path):
    assert_probe(probe, tmp_path)


def test_probe_latents_of_another_tokenizer(tmp_path):
    """Latents from tok_a.pth, training with tok_b.pth's tokenizer: an error naming both
    checkpoints and the file, before any step, in one line."""
    probe = Probe('train-latents-of-another-tokenizer', 'tools/train.py',
                  lambda tmp: _latent_training(tmp, 'tok_b.pth'),
                  mentions=('latents.npz', 'tok_a.pth', 'tok_b.pth', 'sha256'),
                  check=_nothing_trained, isolated=True)
    assert_probe(probe, tmp_path)
