"""Acceptance: the model zoo recomputes every stored quantity of the official fixtures."""
import json
import shutil

import pytest
import torch

from sar_mm.testing import (PARITY_CHECKS, check_fixture, check_flexvae_small,
                            check_flexvar_small, fixture_kind, format_rows)
from sar_mm.testing.model_zoo_parity import _INPUT_KEYS, _coverage_row


@pytest.mark.parametrize('kind', ['flexvae_small', 'flexvar_small', 'var_small'])
def test_every_stored_quantity_matches(parity_rows, reference_dir, kind):
    rows = parity_rows(kind)
    assert all(r.passed for r in rows.values()), '\n' + format_rows(list(rows.values()))
    # one row per stored output: every key of the file is an input or has its row
    stored = set(torch.load(reference_dir / f'{kind}.pt', map_location='cpu',
                            weights_only=True))
    assert stored - _INPUT_KEYS[kind] <= set(rows)
    assert rows['unchecked stored keys'].passed


def test_dispatch_on_the_sidecar_field(reference_dir, tmp_path):
    reference_kinds = {'flexvae_small', 'flexvar_small', 'var_small', 'sar_csfl_step'}
    # the stochastic kinds live in reference_sampling/ and reference_rollout/
    assert set(PARITY_CHECKS) == reference_kinds | {'flexvar_sampling', 'sar_guided_rollout'}
    for kind in reference_kinds:
        assert fixture_kind(reference_dir / f'{kind}.pt') == kind
    (tmp_path / 'a.pt').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='a.json'):
        check_fixture(tmp_path / 'a.pt')
    (tmp_path / 'a.json').write_text(json.dumps(dict(fixture='imagenet_fid')))
    with pytest.raises(ValueError, match="no parity check for fixture kind 'imagenet_fid'"):
        check_fixture(tmp_path / 'a.pt')
    (tmp_path / 'a.json').write_text(json.dumps(dict(set='public')))
    with pytest.raises(ValueError, match="no 'fixture' field"):
        check_fixture(tmp_path / 'a.pt')


def test_a_wrong_stored_value_fails_its_row_only(reference_dir, tmp_path):
    data = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    data['latent'] = data['latent'] + 1e-3  # 100x the latent tolerance
    data['idx_per_scale'][2][0, 0] += 1
    data['unknown_output'] = torch.zeros(1)
    torch.save(data, tmp_path / 'flexvae_small.pt')
    shutil.copy(reference_dir / 'flexvae_small.json', tmp_path)
    failed = {r.name: r for r in check_flexvae_small(tmp_path / 'flexvae_small.pt')
              if not r.passed}
    assert set(failed) == {'latent', 'idx_per_scale', 'unchecked stored keys'}
    assert failed['latent'].max_abs_err == pytest.approx(1e-3, rel=1e-2)
    assert failed['idx_per_scale'].max_abs_err == 1
    assert 'unknown_output' in failed['unchecked stored keys'].tolerance


def test_flexvar_check_needs_the_tokenizer_fixture(reference_dir, tmp_path):
    for suffix in ('.pt', '.json'):
        shutil.copy(reference_dir / f'flexvar_small{suffix}', tmp_path)
    with pytest.raises(FileNotFoundError, match='flexvae_small.pt'):
        check_flexvar_small(tmp_path / 'flexvar_small.pt')
    with pytest.raises(ValueError, match="not 'flexvae_small'"):
        check_flexvae_small(tmp_path / 'flexvar_small.pt')


def test_coverage_row():
    assert _coverage_row('var_small', {'img': 0, 'f': 0}, []).passed is False
    row = _coverage_row('var_small', {'img': 0, 'f': 0, 'extra': 0}, [])
    assert row.max_abs_err == 2 and row.tolerance == 'expected none, got: extra, f'
