"""``import sar_mm`` explains how to install mmcv when it is missing or out of range."""
import subprocess
import sys
import types
from pathlib import Path

import pytest

from sar_mm.version import check_mmcv

REPO = Path(__file__).resolve().parents[2]
MESSAGE = 'install mmcv>=2.0 or mmcv-lite>=2.0 (pure Python; sar_mm needs no compiled ops)'

# Hides mmcv as an uninstalled package would (ModuleNotFoundError named 'mmcv').
WITHOUT_MMCV = '''
import sys
class HideMmcv:
    def find_spec(self, name, path=None, target=None):
        if name == 'mmcv' or name.startswith('mmcv.'):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, HideMmcv())
import sar_mm
'''


def test_import_without_mmcv_names_both_distributions():
    result = subprocess.run([sys.executable, '-c', WITHOUT_MMCV], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith('ImportError: sar_mm needs mmcv: ') and MESSAGE in last_line


@pytest.mark.parametrize('version', ['1.7.2', '2.0.0rc4', '3.0.0'])
def test_mmcv_outside_the_range_is_refused(monkeypatch, version):
    monkeypatch.setitem(sys.modules, 'mmcv', types.SimpleNamespace(__version__=version))
    with pytest.raises(ImportError, match=f'mmcv {version} is installed, but sar_mm needs '
                                          r'mmcv>=2\.0,<3\.0'):
        check_mmcv()


@pytest.mark.parametrize('version', ['2.0.0', '2.2.0'])
def test_mmcv_inside_the_range_is_accepted(monkeypatch, version):
    monkeypatch.setitem(sys.modules, 'mmcv', types.SimpleNamespace(__version__=version))
    check_mmcv()


class MmcvMissingCv2:
    """A finder for an installed mmcv whose own import of cv2 fails."""

    def find_spec(self, name, path=None, target=None):
        if name == 'mmcv':
            raise ModuleNotFoundError("No module named 'cv2'", name='cv2')


def test_a_broken_mmcv_install_is_not_reported_as_missing(monkeypatch):
    monkeypatch.delitem(sys.modules, 'mmcv', raising=False)
    monkeypatch.setattr(sys, 'meta_path', [MmcvMissingCv2(), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError, match="No module named 'cv2'"):
        check_mmcv()
