"""Shared pytest fixtures: paths to the read-only design docs and reference data.

The shared folder sits next to the repository (``<repo>/../shared``). Tests that
need it fail with a clear message when it is missing; they are never skipped.
"""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / '..' / 'shared').resolve()


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


@pytest.fixture(scope='session')
def official_keys_dir(shared_dir: Path) -> Path:
    """``shared/fixtures/official_keys``: state-dict layouts of the released checkpoints."""
    path = shared_dir / 'fixtures' / 'official_keys'
    if not path.is_dir():
        pytest.fail(f'official key manifests not found at {path}')
    return path
