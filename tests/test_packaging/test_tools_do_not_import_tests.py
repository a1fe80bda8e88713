"""Scripts under tools/ and demo/ import nothing from tests/, nor put tests/ on the path.

A script that needs a helper from ``tests/`` only works from a source checkout
with ``tests/`` on ``sys.path``; such helpers belong in the package
(``sar_mm.testing``). Checked on the source of every Python script: each
import statement, and each string (docstrings excepted) that names a module
of ``tests/`` (``custom_imports`` of a written config) or a path with a
``tests`` part (``sys.path``, ``PYTHONPATH``); in shell scripts, every line
outside comments.
"""
import ast
import re
from pathlib import Path
from typing import List, Set

REPO = Path(__file__).resolve().parents[2]
SCRIPT_DIRS = ('tools', 'demo')


def modules_of_tests() -> Set[str]:
    """Names importable from ``tests/`` when it is on the path, and ``tests`` itself."""
    tests = REPO / 'tests'
    names = {p.stem for p in tests.glob('*.py')} | {p.name for p in tests.iterdir() if p.is_dir()}
    return names | {'tests'}


def _docstrings(tree: ast.AST) -> Set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def python_violations(source: str, modules: Set[str]) -> List[str]:
    """``line: what`` for each import of, or string pointing into, tests/."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f'{node.lineno}: import {alias.name}' for alias in node.names
                      if alias.name.split('.')[0] in modules]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if (node.module or '').split('.')[0] in modules:
                found.append(f'{node.lineno}: import {node.module}')
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings
              and (node.value in modules or 'tests' in Path(node.value).parts)):
            found.append(f'{node.lineno}: string {node.value!r}')
    return sorted(found, key=lambda v: int(v.split(':')[0]))


def shell_violations(source: str) -> List[str]:
    """``line: text`` for each line outside comments that names ``tests``."""
    return [f'{i}: {line.strip()}' for i, line in enumerate(source.splitlines(), 1)
            if not line.lstrip().startswith('#') and re.search(r'\btests\b', line)]


def test_scripts_never_reach_into_tests():
    modules = modules_of_tests()
    found = []
    for folder in SCRIPT_DIRS:
        for path in sorted((REPO / folder).rglob('*.py')):
            found += [f'{path.relative_to(REPO)}:{v}'
                      for v in python_violations(path.read_text(encoding='utf-8'), modules)]
        for path in sorted((REPO / folder).rglob('*.sh')):
            found += [f'{path.relative_to(REPO)}:{v}'
                      for v in shell_violations(path.read_text(encoding='utf-8'))]
    assert not found, '\n'.join(found)


def test_the_check_sees_each_way_of_reaching_into_tests():
    source = ('"""Uses tests/tiny.py in its docstring only."""\n'
              'import sys\n'
              'from script_loading import load_script\n'
              'import tests.conftest\n'
              "sys.path.insert(0, str(ROOT / 'tests'))\n"
              "cfg = dict(imports=['test_tools'])\n"
              "fine = ['pytests', 'sar_mm.testing', 'latest/results']\n")
    assert python_violations(source, modules_of_tests()) == [
        '3: import script_loading', '4: import tests.conftest', "5: string 'tests'",
        "6: string 'test_tools'"]
    assert shell_violations('# tests/ in a comment is fine\n'
                            'export PYTHONPATH="$ROOT/tests:$ROOT"\n') == [
        '2: export PYTHONPATH="$ROOT/tests:$ROOT"']
