"""Where sar_mm's ``configs/``, ``tools/`` and ``demo/`` are, installed or checked out.

``python -m sar_mm`` lists and runs the scripts of ``tools/`` and ``demo/``
(:func:`list_tools`, :func:`tool_script`).

A wheel (non-editable install) ships them under ``sar_mm/.mim/`` (the OpenMMLab
``.mim`` layout, written by setup.py); an editable install or a source checkout
uses the repository's folders next to the ``sar_mm`` package.
"""
from pathlib import Path
from typing import List

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def files_root() -> Path:
    """The folder that holds ``configs/`` and ``tools/``: ``sar_mm/.mim`` or the checkout."""
    for root in (PACKAGE_DIR / '.mim', PACKAGE_DIR.parent):
        if (root / 'configs').is_dir() and (root / 'tools').is_dir():
            return root
    raise FileNotFoundError(f'neither {PACKAGE_DIR / ".mim"} nor {PACKAGE_DIR.parent} holds '
                            'configs/ and tools/: reinstall sar_mm from a wheel or a checkout')


#: the prefix of the demos' names: ``demo/sample_demo`` is ``demo/sample_demo.py``
DEMO_PREFIX = 'demo/'


def list_tools() -> List[str]:
    """Tool names: ``tools/`` paths without ``.py`` (``analysis_tools/benchmark``), then the
    demos as ``demo/sample_demo``."""
    root = files_root()
    tools = sorted(path.relative_to(root / 'tools').with_suffix('').as_posix()
                   for path in (root / 'tools').rglob('*.py') if path.name != '__init__.py')
    demos = sorted(DEMO_PREFIX + path.stem for path in (root / 'demo').glob('*.py'))
    return tools + demos


def tool_script(name: str) -> Path:
    """The script of tool ``name`` (``train``, ``model_converters/var_to_sarmm``,
    ``demo/sample_demo``, ...)."""
    stem = name.removesuffix('.py')
    root = files_root()
    script = (root / f'{stem}.py' if stem.startswith(DEMO_PREFIX)
              else root / 'tools' / f'{stem}.py')
    if not script.is_file():
        raise FileNotFoundError(f'no tool {name!r}; tools: {", ".join(list_tools())}')
    return script


def resolve_config(arg: str) -> str:
    """``arg``, or its copy in sar_mm's configs when ``arg`` is a missing ``.py`` path.

    ``configs/sar/flexvar_d16_sar.py`` and ``sar/flexvar_d16_sar.py`` both name
    the packaged ``configs/sar/flexvar_d16_sar.py``; existing paths stay as they are.
    """
    if not arg.endswith('.py') or Path(arg).exists():
        return arg
    root = files_root()
    for candidate in (root / arg, root / 'configs' / arg):
        if candidate.is_file():
            return str(candidate)
    return arg
