"""Convert an official VAR release into a sar_mm checkpoint.

Usage::

    python tools/model_converters/var_to_sarmm.py var_d16.pth vae_ch160v4096z32.pth \
        work_dirs/var_d16_sarmm.pth [--patch-nums 1 2 3 4 5 6 8 10 13 16] [--trust-checkpoint]

Both inputs are the flat state dicts released by FoundationVision/VAR. The
command line (inputs, output, errors) is :func:`sar_mm.apis.release_conversion.convert_release`;
the rule table lives in ``sar_mm.models.converters.var``.
"""
import sys
from typing import List, Optional

from sar_mm.apis.release_conversion import convert_release


def main(argv: Optional[List[str]] = None) -> int:
    return convert_release('var', argv)


if __name__ == '__main__':
    sys.exit(main())
