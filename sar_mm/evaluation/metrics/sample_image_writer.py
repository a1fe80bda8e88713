"""Write every generated sample to a PNG named by its ``sample_idx``."""
from typing import Dict, Optional, Sequence

from mmengine.evaluator import BaseMetric

from sar_mm.registry import METRICS
from ..sample_folder import write_sample_image

__all__ = ['SampleImageWriter']


@METRICS.register_module()
class SampleImageWriter(BaseMetric):
    """Save generated samples as ``{sample_idx:06d}.png`` (docs/method.md §6.2).

    Each rank writes the samples it generated. A PNG that already exists is
    kept, so padding samples of mmengine's sampler (repeated indices) and
    resumed runs never write an index twice. Like mmengine's ``DumpResults``
    this "metric" exists for its side effect; it reports how many distinct
    samples passed through it.

    Args:
        save_dir: output folder.
        fake_key: key of the uint8 (3, H, W) image in each model output.
        collect_device, collect_dir, prefix: see ``mmengine.evaluator.BaseMetric``.
    """

    default_prefix = 'samples'

    def __init__(self,
                 save_dir: str,
                 fake_key: str = 'fake_img',
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None,
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.save_dir = save_dir
        self.fake_key = fake_key

    def process(self, data_batch: Optional[dict], data_samples: Sequence[dict]) -> None:
        """Write the PNGs of one batch of model outputs."""
        for sample in data_samples:
            write_sample_image(self.save_dir, int(sample['sample_idx']), sample[self.fake_key])
            self.results.append(int(sample['sample_idx']))

    def compute_metrics(self, results: list) -> Dict[str, int]:
        """Number of distinct samples seen."""
        return dict(num_samples=len(set(results)))
