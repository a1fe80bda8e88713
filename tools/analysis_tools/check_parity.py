"""Check sar_mm against a folder of official reference fixtures.

Usage::

    python tools/analysis_tools/check_parity.py FIXTURE_DIR [--threads N]

Every ``*.pt`` file of FIXTURE_DIR is checked with the parity function of its
kind (the ``fixture`` field of its ``.json`` sidecar; see
``sar_mm.testing.PARITY_CHECKS``), which loads the official weights, recomputes
every stored quantity with sar_mm and compares it within the sidecar's
tolerances. One line is printed per quantity (fixture, name, max abs error,
tolerance, PASS/FAIL), then a summary. A fixture that cannot be checked
(missing sidecar, unreadable file, unknown kind, an error inside the check) is
one FAIL line with the reason, and so is a sidecar without its ``.pt``. The exit
status is 1 when anything failed or the folder holds no fixture, else 0.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import torch

from sar_mm.testing import ParityRow, check_fixture
from sar_mm.utils.cli_errors import add_debug_flag, run_cli

# fixture file, fixture kind (or '?'), row
Line = Tuple[str, str, ParityRow]


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare sar_mm with the official VAR/FlexVAR/SAR reference fixtures')
    parser.add_argument('fixture_dir', help='folder of <name>.pt + <name>.json fixtures')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (the fixtures were made with 2)')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def _fail(file_name: str, reason: str) -> Line:
    return file_name, '?', ParityRow('cannot check', float('nan'), reason, False)


def check_folder(fixture_dir: Path) -> List[Line]:
    """Rows of every fixture in ``fixture_dir``; what cannot be checked is a FAIL row."""
    lines: List[Line] = []
    for pt_path in sorted(fixture_dir.glob('*.pt')):
        try:
            kind, rows = check_fixture(pt_path)
        except Exception as err:  # any failure to check is reported as a FAIL row
            lines.append(_fail(pt_path.name, f'{type(err).__name__}: {err}'.splitlines()[0]))
            continue
        lines += [(pt_path.name, kind, row) for row in rows]
    for sidecar in sorted(fixture_dir.glob('*.json')):
        if not sidecar.with_suffix('.pt').is_file():
            lines.append(_fail(sidecar.name, f'sidecar without {sidecar.stem}.pt'))
    return lines


def format_lines(lines: List[Line]) -> str:
    """A fixed-width table: fixture, name, max abs error, tolerance, PASS/FAIL."""
    header = ('fixture', 'name', 'max_abs_err', 'tolerance', 'result')
    table = [(f'{f} ({k})', r.name, f'{r.max_abs_err:.3e}', r.tolerance,
              'PASS' if r.passed else 'FAIL') for f, k, r in lines]
    widths = [max(len(row[i]) for row in [header] + table) for i in range(4)]
    return '\n'.join('  '.join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + '  ' + row[4]
                     for row in [header] + table)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    fixture_dir = Path(args.fixture_dir)
    if not fixture_dir.is_dir():
        print(f'{fixture_dir} is not a folder')
        return 1
    lines = check_folder(fixture_dir)
    if not lines:
        print(f'no fixtures (*.pt + *.json) in {fixture_dir}')
        return 1
    print(format_lines(lines))
    failed = [(f, r.name) for f, _, r in lines if not r.passed]
    fixtures = sorted({f for f, _, _ in lines})
    print(f'\n{len(fixtures)} fixture(s), {len(lines)} quantities: '
          f'{len(lines) - len(failed)} passed, {len(failed)} failed')
    for f, name in failed:
        print(f'FAIL {f}: {name}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
