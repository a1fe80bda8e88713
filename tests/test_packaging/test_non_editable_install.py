"""A wheel install (not editable) ships configs/ and tools/ and runs ``python -m sar_mm``.

The fresh venv sees the dependencies already installed in this environment
through a ``.pth`` file pointing at a folder of links to them, leaving out this
environment's own (editable) sar_mm, so nothing is downloaded or reinstalled.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/sar/flexvar_d16_sar.py'

PROBE = '''
import json, sys
import sar_mm
from mmengine.config import Config
from sar_mm.utils.package_files import files_root, resolve_config
config = resolve_config(sys.argv[1])
cfg = Config.fromfile(config)
print(json.dumps(dict(sar_mm=sar_mm.__file__, root=str(files_root()), config=config,
                      types=[cfg.model.type, cfg.model.rollout.type, cfg.default_scope,
                             cfg.train_dataloader.dataset.type])))
'''


def run(cmd, cwd, env):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f'{cmd} failed:\n{result.stdout}\n{result.stderr}'
    return result.stdout


def is_this_environments_sar_mm(name: str) -> bool:
    return name.startswith(('sar_mm', '__editable__')) or name.endswith(('.pth', '.egg-link'))


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(python, site-packages, env, cwd) of a fresh venv with sar_mm installed from a wheel."""
    tmp = tmp_path_factory.mktemp('wheel_install')
    source = tmp / 'source'  # the working tree's files, so no build output lands in the repo
    listed = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in listed.splitlines():
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)

    deps = tmp / 'deps'  # this environment's packages, minus its sar_mm
    deps.mkdir()
    for entry in Path(sysconfig.get_path('purelib')).iterdir():
        if not is_this_environments_sar_mm(entry.name):
            (deps / entry.name).symlink_to(entry)

    venv = tmp / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = venv / 'bin' / 'python'
    site = Path(run([str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                    tmp, os.environ).strip())
    (site / 'shared_deps.pth').write_text(f'{deps}\n')

    env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTHON', 'PIP_'))}
    run([str(python), '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
         '--no-index', '--no-cache-dir', '--disable-pip-version-check',
         '-c', str(source / 'requirements/pinned.txt'), str(source)], tmp, env)
    return python, site, env, tmp


def test_tools_run_from_the_packaged_copy(installed):
    python, site, env, cwd = installed
    listing = run([str(python), '-m', 'sar_mm'], cwd, env)
    assert f'tools in {site / "sar_mm/.mim/tools"}:' in listing
    usage = run([str(python), '-m', 'sar_mm', 'train', CONFIG, '--help'], cwd, env)
    assert usage.startswith('usage: train.py') and '--work-dir' in usage
    assert '\n  demo/sample_demo\n' in listing  # and what it lists, it runs
    usage = run([str(python), '-m', 'sar_mm', 'demo/sample_demo', '--help'], cwd, env)
    assert usage.startswith('usage: sample_demo.py') and '--batch-size' in usage


def test_packaged_configs_resolve_their_bases(installed):
    python, site, env, cwd = installed
    probe = json.loads(run([str(python), '-c', PROBE, CONFIG], cwd, env))
    assert probe['sar_mm'] == str(site / 'sar_mm/__init__.py')
    assert probe['root'] == str(site / 'sar_mm/.mim')
    assert probe['config'] == str(site / 'sar_mm/.mim' / CONFIG)
    # the config's own rollout and, from its chain of _base_ files, model, scope and data
    assert probe['types'] == ['ScaleWiseAR', 'StaggerScaleRollout', 'sar_mm', 'ImageNetDataset']
    for folder in ('configs/_base_', 'tools/analysis_tools', 'demo'):
        assert (site / 'sar_mm/.mim' / folder).is_dir()
