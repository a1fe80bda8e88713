"""Shared pytest fixtures: paths to the read-only design docs and reference data.

The shared folder sits next to the repository (``<repo>/../shared``). Tests that
need it fail with a clear message when it is missing; they are never skipped.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / '..' / 'shared').resolve()


@pytest.fixture(scope='session', autouse=True)
def precision_cache_dir(tmp_path_factory) -> Path:
    """A fresh ``SAR_MM_CACHE_DIR`` for the session (child processes inherit it): the CPU
    precision decision of the tests never comes from, or goes to, this machine's cache."""
    path = tmp_path_factory.mktemp('sar_mm_cache')
    saved = os.environ.get('SAR_MM_CACHE_DIR')
    os.environ['SAR_MM_CACHE_DIR'] = str(path)
    yield path
    if saved is None:
        del os.environ['SAR_MM_CACHE_DIR']
    else:
        os.environ['SAR_MM_CACHE_DIR'] = saved


@pytest.fixture(scope='session')
def shared_dir() -> Path:
    """``<repo>/../shared``: design docs and fixtures produced by the official code."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f'shared folder not found at {SHARED_DIR}: the parity tests need the '
                    'official reference fixtures next to the repository (../shared).')
    return SHARED_DIR


@pytest.fixture(scope='session')
def reference_dir(shared_dir: Path) -> Path:
    """``shared/fixtures/reference``: small official models with their outputs."""
    path = shared_dir / 'fixtures' / 'reference'
    if not path.is_dir():
        pytest.fail(f'reference fixtures not found at {path}')
    return path


def _fixture_folder(shared_dir: Path, name: str) -> Path:
    path = shared_dir / 'fixtures' / name
    if not path.is_dir():
        pytest.fail(f'reference fixtures not found at {path}')
    return path


@pytest.fixture(scope='session')
def reference_sampling_dir(shared_dir: Path) -> Path:
    """``shared/fixtures/reference_sampling``: the official sampler's seeded draws."""
    return _fixture_folder(shared_dir, 'reference_sampling')


@pytest.fixture(scope='session')
def reference_rollout_dir(shared_dir: Path) -> Path:
    """``shared/fixtures/reference_rollout``: the official effective SAR step."""
    return _fixture_folder(shared_dir, 'reference_rollout')


@pytest.fixture(scope='session')
def official_keys_dir(shared_dir: Path) -> Path:
    """``shared/fixtures/official_keys``: state-dict layouts of the released checkpoints."""
    path = shared_dir / 'fixtures' / 'official_keys'
    if not path.is_dir():
        pytest.fail(f'official key manifests not found at {path}')
    return path


def _load_reference(reference_dir: Path, name: str) -> dict:
    import json

    import torch
    data = torch.load(reference_dir / f'{name}.pt', map_location='cpu', weights_only=True)
    with open(reference_dir / f'{name}.json', encoding='utf-8') as f:
        sidecar = json.load(f)
    return dict(data=data, sidecar=sidecar)


@pytest.fixture(scope='session')
def flexvar_small(reference_dir: Path) -> dict:
    """The FlexVAR reference fixtures converted through the official-key rules.

    Returns ``dict(vae=<flexvae_small.pt contents>, vae_sidecar=..., var=<flexvar_small.pt
    contents>, var_sidecar=..., meta=<converter meta>, tokenizer=FlexVQVAE,
    backbone=FlexVARTransformer)``; both modules are in eval mode. Tests must not
    modify the modules (the fixture is shared by the session).
    """
    import torch.nn as nn

    from sar_mm.models.backbones import FlexVARTransformer
    from sar_mm.models.converters.flexvar import convert_flexvar_checkpoints
    from sar_mm.models.tokenizers import FlexVQVAE
    vae = _load_reference(reference_dir, 'flexvae_small')
    var = _load_reference(reference_dir, 'flexvar_small')
    converted = convert_flexvar_checkpoints(var['data']['state_dict'], vae['data']['state_dict'])
    meta = converted['meta']
    model = nn.Module()
    model.backbone = FlexVARTransformer(
        **{k: v for k, v in meta['backbone'].items() if k != 'type'})
    model.tokenizer = FlexVQVAE(**{k: v for k, v in meta['tokenizer'].items() if k != 'type'})
    model.load_state_dict(converted['state_dict'], strict=True)
    model.eval()
    return dict(vae=vae['data'], vae_sidecar=vae['sidecar'], var=var['data'],
                var_sidecar=var['sidecar'], meta=meta, tokenizer=model.tokenizer,
                backbone=model.backbone)


@pytest.fixture(scope='session')
def parity_rows(reference_dir: Path):
    """``parity_rows(kind) -> {name: ParityRow}`` for the reference fixture ``<kind>.pt``.

    Runs ``sar_mm.testing.PARITY_CHECKS[kind]`` once per session (every compared
    quantity of the fixture, tolerances from its sidecar), so component tests can
    assert the rows they cover without recomputing the fixture.
    """
    from sar_mm.testing import PARITY_CHECKS, rows_by_name
    cache = {}

    def rows(kind: str) -> dict:
        if kind not in cache:
            cache[kind] = rows_by_name(PARITY_CHECKS[kind](reference_dir / f'{kind}.pt'))
        return cache[kind]

    return rows


@pytest.fixture(scope='session')
def toy_quick_run(tmp_path_factory):
    """One ``tools/run_toy.py --quick`` run, shared by the tests of the toy pipeline and of
    the SAR study (which starts from its stages, as the README suggests). ``(work_dir, stdout)``."""
    work_dir = tmp_path_factory.mktemp('toy')
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'run_toy.py'), '--work-dir', str(work_dir),
         '--quick'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return work_dir, result.stdout
