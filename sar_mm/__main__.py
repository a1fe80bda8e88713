"""``python -m sar_mm TOOL [ARGS]``: run ``tools/TOOL.py`` (or ``demo/NAME.py`` as
``demo/NAME``) of the installed or checked-out sar_mm.

Works after an editable or a non-editable install. Arguments naming a config
that does not exist as given are looked up in sar_mm's configs, e.g.
``python -m sar_mm train configs/sar/flexvar_d16_sar.py --work-dir work_dirs/sar``.
Without a tool, lists the tools and demos. An unknown tool is a one-line error.
"""
import runpy
import sys
from typing import List, Optional

from sar_mm.utils.cli_errors import run_cli
from sar_mm.utils.package_files import (DEMO_PREFIX, files_root, list_tools, resolve_config,
                                        tool_script)


def main(argv: Optional[List[str]] = None) -> int:
    """Run one tool as ``python tools/TOOL.py ARGS`` would; list the tools without one."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ('-h', '--help'):
        names = list_tools()
        tools = [name for name in names if not name.startswith(DEMO_PREFIX)]
        demos = [name for name in names if name.startswith(DEMO_PREFIX)]
        print('usage: python -m sar_mm TOOL [ARGS]  (python -m sar_mm TOOL --help for its options)'
              f'\ntools in {files_root() / "tools"}:\n  ' + '\n  '.join(tools)
              + f'\ndemos in {files_root() / "demo"}:\n  ' + '\n  '.join(demos))
        return 0
    script = tool_script(argv[0])
    sys.argv = [str(script)] + [resolve_config(arg) for arg in argv[1:]]
    sys.path[0] = str(script.parent)  # as for `python tools/TOOL.py`
    runpy.run_path(str(script), run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
