"""setup.py declares what sar_mm imports, and requirements/pinned.txt lies inside its ranges."""
import ast
import runpy
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import setuptools
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CODE = ('sar_mm', 'tools', 'demo')


@pytest.fixture(scope='module')
def setup_kwargs() -> dict:
    """The keyword arguments setup.py passes to ``setuptools.setup``."""
    captured = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(setuptools, 'setup', lambda **kwargs: captured.update(kwargs))
        runpy.run_path(str(REPO / 'setup.py'))
    return captured


def declared(setup_kwargs: dict) -> dict:
    """Canonical name -> Requirement for install_requires and every extra."""
    lines = list(setup_kwargs['install_requires'])
    for extra in setup_kwargs['extras_require'].values():
        lines += extra
    return {canonicalize_name(req.name): req for req in map(Requirement, lines)}


def pinned_versions() -> dict:
    """Canonical name -> version of each ``name==version`` line of requirements/pinned.txt."""
    pins = {}
    for line in (REPO / 'requirements' / 'pinned.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == '==', f'pinned.txt must pin exactly: {line}'
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def imported_top_level_modules() -> set:
    """Top-level modules imported (absolutely) anywhere in sar_mm/, tools/ and demo/."""
    modules = set()
    for folder in SHIPPED_CODE:
        for path in (REPO / folder).rglob('*.py'):
            for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split('.')[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules.add(node.module.split('.')[0])
    return modules


def test_every_declared_requirement_is_pinned_inside_its_range(setup_kwargs):
    pins = pinned_versions()
    for name, req in declared(setup_kwargs).items():
        assert name in pins, f'{name} is declared in setup.py but not pinned in pinned.txt'
        assert req.specifier.contains(pins[name]), \
            f'pinned {name}=={pins[name]} is outside the declared range {req}'


def test_every_imported_third_party_module_is_declared(setup_kwargs):
    names = declared(setup_kwargs)
    install_requires = {canonicalize_name(Requirement(r).name)
                        for r in setup_kwargs['install_requires']}
    module_dists = packages_distributions()
    third_party = imported_top_level_modules() - set(sys.stdlib_module_names) - {'sar_mm'}
    assert {'torch', 'mmengine', 'mmcv', 'PIL', 'numpy'} <= third_party  # the walk works
    for module in sorted(third_party - {'mmcv'}):  # mmcv: checked at import, see version.py
        dists = {canonicalize_name(d) for d in module_dists.get(module, [])}
        assert dists & install_requires, \
            f'{module} is imported but none of its distributions {dists} is in install_requires'
    assert 'mmcv-lite' in names and not {'mmcv', 'mmcv-lite'} & install_requires


def test_lite_extra_matches_the_import_time_mmcv_range(setup_kwargs):
    from sar_mm.version import MMCV_MAX, MMCV_MIN
    (lite,) = map(Requirement, setup_kwargs['extras_require']['lite'])
    assert lite.name == 'mmcv-lite'
    assert lite.specifier.contains(MMCV_MIN) and not lite.specifier.contains(MMCV_MAX)
    assert not lite.specifier.contains('1.7.2')


def test_unused_packages_are_not_declared(setup_kwargs):
    names = declared(setup_kwargs)
    assert not {'opencv-python', 'setuptools'} & set(names)


def test_einops_is_used_and_declared(setup_kwargs):
    assert 'einops' in imported_top_level_modules()
    assert 'einops' in {canonicalize_name(Requirement(r).name)
                        for r in setup_kwargs['install_requires']}
