"""The converters share one transformer rule table and one command line."""
from pathlib import Path

import pytest
import torch
from script_loading import load_script

import sar_mm.apis.release_conversion as release_conversion
from sar_mm.models.converters import FLEXVAR_RULES, TRANSFORMER_RULES, VAR_RULES

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'model_converters'


def test_both_transformer_tables_are_the_shared_rules_plus_vars_levels():
    assert FLEXVAR_RULES == TRANSFORMER_RULES
    assert VAR_RULES[:len(TRANSFORMER_RULES)] == TRANSFORMER_RULES
    assert [pattern for pattern, _ in VAR_RULES[len(TRANSFORMER_RULES):]] == [
        r'lvl_1L', r'(lvl_embed\.weight)']


@pytest.mark.parametrize('script,family', [('var_to_sarmm.py', 'var'),
                                           ('flexvar_to_sarmm.py', 'flexvar')])
def test_each_tool_runs_the_shared_command_line(monkeypatch, script, family):
    calls = []
    monkeypatch.setattr(release_conversion, 'convert_release',
                        lambda name, argv: calls.append((name, argv)) or 7)
    tool = load_script(TOOLS / script, f'{family}_converter_tool')
    assert tool.main(['a', 'b', 'c']) == 7
    assert calls == [(family, ['a', 'b', 'c'])]


@pytest.mark.parametrize('family,extra', [('var', ['--patch-nums', '1', '2']), ('flexvar', [])])
def test_refuses_to_write_over_an_input(tmp_path, capsys, family, extra):
    source = tmp_path / 'in.pth'
    torch.save(dict(w=torch.zeros(1)), source)
    before = source.read_bytes()
    assert release_conversion.convert_release(
        family, [str(source), str(tmp_path / 'other.pth'), str(source), *extra]) == 1
    assert 'error: conversion failed: ' in capsys.readouterr().err
    assert source.read_bytes() == before


def test_only_var_takes_a_schedule():
    with pytest.raises(SystemExit):
        release_conversion.convert_release('flexvar', ['a', 'b', 'c', '--patch-nums', '1'])


def test_debug_raises_the_error_with_its_traceback(tmp_path, capsys):
    """One line by default; ``--debug`` re-raises the same error."""
    missing = tmp_path / 'absent.pth'
    argv = [str(missing), str(missing), str(tmp_path / 'out.pth')]
    assert release_conversion.convert_release('var', argv) == 1
    assert str(missing) in capsys.readouterr().err
    with pytest.raises(Exception, match='absent.pth'):
        release_conversion.convert_release('var', argv + ['--debug'])
