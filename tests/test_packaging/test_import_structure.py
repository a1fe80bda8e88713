"""sar_mm's modules import each other without cycles, and every subpackage imports on its own.

The graph has one node per module of ``sar_mm`` (a package is its ``__init__``)
and an edge for every import statement naming another sar_mm module, at module
level or inside a function (a deferred import hides a cycle, it does not remove
it): ``import a.b`` and ``from a import b`` lead to module ``a.b`` when it
exists, else to package ``a``. Relative imports are resolved.
"""
import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'sar_mm'


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob('*.py')}


def import_graph() -> Dict[str, Set[str]]:
    """module -> the sar_mm modules its import statements name."""
    modules = _modules()
    graph: Dict[str, Set[str]] = {name: set() for name in modules}

    def target(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition('.')[0]
        return name

    for name, path in modules.items():
        package = name if path.name == '__init__.py' else name.rpartition('.')[0]
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    anchor = package.rsplit('.', node.level - 1)[0] if node.level > 1 else package
                    base = f'{anchor}.{base}' if base else anchor
                found = [f'{base}.{alias.name}' for alias in node.names]
            else:
                continue
            for imported in found:
                if imported.split('.')[0] == 'sar_mm':
                    dest = target(imported)
                    if dest and dest != name:
                        graph[name].add(dest)
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_cycle():
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert cycles(graph) == [['a', 'b', 'c']]
    assert cycles({'a': {'b'}, 'b': set()}) == []


def test_no_import_cycles_inside_sar_mm():
    graph = import_graph()
    assert 'sar_mm.registry' in graph['sar_mm.utils.config_validation']  # the graph is read
    found = cycles(graph)
    assert not found, 'import cycles:\n' + '\n'.join(
        ' -> '.join(component) for component in found)


def reachable(graph: Dict[str, Set[str]], start: str) -> Set[str]:
    """Every module ``start``'s import statements lead to, directly or through others."""
    seen: Set[str] = set()
    todo = [start]
    while todo:
        for succ in graph[todo.pop()] - seen:
            seen.add(succ)
            todo.append(succ)
    return seen


def test_reachable_follows_imports_through_other_modules():
    assert reachable({'a': {'b'}, 'b': {'c'}, 'c': set(), 'd': {'a'}}, 'a') == {'b', 'c'}


def test_scale_layout_is_neutral():
    """Scale bookkeeping and ``RolloutOutput`` import nothing of sar_mm, and losses,
    which read them, reach no rollout module."""
    graph = import_graph()
    layout = 'sar_mm.models.utils.scale_layout'
    assert graph[layout] == set()
    users = [name for name, imports in graph.items() if layout in imports]
    assert {'sar_mm.models.losses.scale_ce_loss', 'sar_mm.models.rollouts.base_rollout',
            'sar_mm.evaluation.exposure_bias'} <= set(users)
    for loss in (name for name in graph if name.startswith('sar_mm.models.losses')):
        assert not {m for m in reachable(graph, loss)
                    if m.startswith(('sar_mm.models.rollouts', 'sar_mm.evaluation'))}, loss


@pytest.mark.parametrize('subpackage', sorted(
    p.parent.name for p in PACKAGE.glob('*/__init__.py')))
def test_every_subpackage_imports_on_its_own(subpackage):
    result = subprocess.run([sys.executable, '-c', f'import sar_mm.{subpackage}'],
                            cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
