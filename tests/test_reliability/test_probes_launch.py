"""Probes of the launch arguments every tool shares: configs and checkpoints that are not there."""
import pytest
from probe_battery import Probe, assert_probe

PROBES = [
    Probe('test-missing-config', 'tools/test.py',
          lambda tmp: [tmp / 'no_such_config.py', tmp / 'no.pth'], mentions=('no_such_config.py',)),
    Probe('train-missing-config', 'tools/train.py',
          lambda tmp: [tmp / 'no_such_config.py', '--work-dir', tmp / 'w'],
          mentions=('no_such_config.py',)),
]


@pytest.mark.parametrize('probe', PROBES, ids=lambda p: p.id)
def test_probe(probe, tmp_path):
    assert_probe(probe, tmp_path)
