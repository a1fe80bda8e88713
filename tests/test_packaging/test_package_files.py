"""``python -m sar_mm`` in a source checkout: tools and configs come from the repository."""
import runpy
import sys
from pathlib import Path

import pytest

from sar_mm.__main__ import main
from sar_mm.utils.package_files import files_root, list_tools, resolve_config, tool_script

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/sar/flexvar_d16_sar.py'


def test_the_checkout_is_the_files_root():
    assert files_root() == REPO


def test_tools_are_listed_by_their_path_under_tools():
    tools = list_tools()
    assert {'train', 'test', 'extract_latents', 'analysis_tools/benchmark',
            'model_converters/flexvar_to_sarmm'} <= set(tools)
    assert tool_script('analysis_tools/benchmark') == REPO / 'tools/analysis_tools/benchmark.py'
    assert tool_script('train.py') == REPO / 'tools/train.py'
    with pytest.raises(FileNotFoundError, match="no tool 'trian'"):
        tool_script('trian')


def test_every_listed_tool_and_demo_has_a_script():
    """``python -m sar_mm`` runs what it lists: the demos too, as ``demo/NAME``."""
    tools = list_tools()
    assert {'demo/sample_demo', 'demo/edit_demo'} <= set(tools)
    assert tool_script('demo/sample_demo') == REPO / 'demo/sample_demo.py'
    for name in tools:
        assert tool_script(name).is_file(), name


def test_missing_config_paths_resolve_to_sar_mm_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config(CONFIG) == str(REPO / CONFIG)
    assert resolve_config('sar/flexvar_d16_sar.py') == str(REPO / CONFIG)
    (tmp_path / 'configs/sar').mkdir(parents=True)
    (tmp_path / CONFIG).write_text('')
    assert resolve_config(CONFIG) == CONFIG  # an existing path is the user's own file
    assert resolve_config('missing.py') == 'missing.py'
    assert resolve_config('--work-dir') == '--work-dir'


def test_main_without_a_tool_lists_the_tools(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f'tools in {REPO / "tools"}:' in out and '\n  train\n' in out
    assert f'demos in {REPO / "demo"}:\n  demo/edit_demo\n  demo/sample_demo' in out


def test_main_runs_the_tool_as_a_script_with_the_resolved_config(tmp_path, monkeypatch):
    calls = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.setattr(sys, 'argv', ['-m'])
    monkeypatch.setattr(runpy, 'run_path', lambda path, run_name: calls.append(
        (path, run_name, list(sys.argv), sys.path[0])))
    assert main(['train', CONFIG, '--work-dir', 'out']) == 0
    script = str(REPO / 'tools/train.py')
    assert calls == [(script, '__main__', [script, str(REPO / CONFIG), '--work-dir', 'out'],
                      str(REPO / 'tools'))]
