"""Convert a FlexVAR or SAR release (transformer + FlexVAE tokenizer) into a sar_mm checkpoint.

Usage::

    python tools/model_converters/flexvar_to_sarmm.py FlexVARd16-epo179.pth FlexVAE.pth \
        checkpoints/flexvar_d16_sarmm.pth [--trust-checkpoint]

The transformer may be an official training checkpoint (state dict under
``['trainer']['var_wo_ddp']``; ``SARd*-epo*.pth`` has the same layout) or a flat
state dict; the tokenizer's state dict is under ``['model']`` or flat. The
official training checkpoints also pickle their argparse ``args``, which needs
``--trust-checkpoint`` (only for files from a trusted source). The command line
(inputs, output, errors) is :func:`sar_mm.apis.release_conversion.convert_release`;
the rule table lives in ``sar_mm.models.converters.flexvar``.
"""
import sys
from typing import List, Optional

from sar_mm.apis.release_conversion import convert_release


def main(argv: Optional[List[str]] = None) -> int:
    return convert_release('flexvar', argv)


if __name__ == '__main__':
    sys.exit(main())
