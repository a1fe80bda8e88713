"""tools/analysis_tools/check_parity.py: the reference folder passes, bad fixtures fail."""
import json
import shutil
from pathlib import Path

import pytest
import torch
from script_loading import load_script

from sar_mm.testing import PARITY_CHECKS

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'check_parity.py'


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL, 'check_parity')


def table_rows(out: str) -> list:
    """``(fixture file, name, result)`` of every line of the tool's table."""
    lines = out.splitlines()
    starts = [lines[0].index(column) for column in ('name', 'max_abs_err', 'result')]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        rows.append((line[:starts[0]].split()[0], line[starts[0]:starts[1]].strip(),
                     line[starts[2]:].strip()))
    return rows


def test_the_reference_folder_passes(tool, reference_dir, parity_rows, monkeypatch, capsys):
    """All four fixture kinds pass (model zoo and the SAR step).

    The checks' rows come from the session cache of ``parity_rows``, which ran
    the same ``PARITY_CHECKS`` functions on the same files; the cached wrapper
    asserts that the tool hands it the right file.
    """
    computed = {kind: list(parity_rows(kind).values())
                for kind in ('flexvae_small', 'flexvar_small', 'var_small', 'sar_csfl_step')}

    def cached(kind):
        def check(pt_path):
            assert Path(pt_path) == reference_dir / f'{kind}.pt'
            return computed[kind]
        return check

    for kind in computed:
        monkeypatch.setitem(PARITY_CHECKS, kind, cached(kind))
    assert tool.main([str(reference_dir)]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert {f for f, _, _ in rows} == {'flexvae_small.pt', 'flexvar_small.pt', 'var_small.pt',
                                       'sar_csfl_step.pt'}
    assert len(rows) == sum(len(r) for r in computed.values())
    assert all(result == 'PASS' for _, _, result in rows)
    assert ('var_small.pt', 'logits_tf', 'PASS') in rows
    assert f'4 fixture(s), {len(rows)} quantities: {len(rows)} passed, 0 failed' in out


def test_a_perturbed_tensor_fails_naming_it(tool, reference_dir, tmp_path, capsys):
    data = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    data['decoded_per_scale'][1] = data['decoded_per_scale'][1] + 1e-2
    torch.save(data, tmp_path / 'flexvae_small.pt')
    shutil.copy(reference_dir / 'flexvae_small.json', tmp_path)
    assert tool.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    failed = [(f, name) for f, name, result in table_rows(out) if result == 'FAIL']
    assert failed == [('flexvae_small.pt', 'decoded_per_scale')]
    assert 'FAIL flexvae_small.pt: decoded_per_scale' in out


def test_fixtures_that_cannot_be_checked_fail(tool, tmp_path, capsys):
    torch.save(dict(x=torch.zeros(2)), tmp_path / 'a_unknown.pt')
    (tmp_path / 'a_unknown.json').write_text(json.dumps(dict(fixture='imagenet_fid')))
    torch.save(dict(x=torch.zeros(2)), tmp_path / 'b_no_sidecar.pt')
    (tmp_path / 'c_broken.pt').write_bytes(b'not a checkpoint')
    (tmp_path / 'c_broken.json').write_text(json.dumps(dict(fixture='flexvae_small')))
    (tmp_path / 'd_no_pt.json').write_text(json.dumps(dict(fixture='var_small')))
    assert tool.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert [f for f, _, _ in rows] == ['a_unknown.pt', 'b_no_sidecar.pt', 'c_broken.pt',
                                       'd_no_pt.json']
    assert all(name == 'cannot check' and result == 'FAIL' for _, name, result in rows)
    lines = {line.split()[0]: line for line in out.splitlines()[1:5]}
    assert "no parity check for fixture kind 'imagenet_fid'" in lines['a_unknown.pt']
    assert 'sidecar b_no_sidecar.json not found' in lines['b_no_sidecar.pt']
    assert 'c_broken.pt' in lines['c_broken.pt'] and 'Error' in lines['c_broken.pt']
    assert 'sidecar without d_no_pt.pt' in lines['d_no_pt.json']
    assert '4 fixture(s), 4 quantities: 0 passed, 4 failed' in out


def test_an_empty_folder_fails(tool, tmp_path, capsys):
    assert tool.main([str(tmp_path)]) == 1
    assert 'no fixtures' in capsys.readouterr().out
    assert tool.main([str(tmp_path / 'missing')]) == 1
