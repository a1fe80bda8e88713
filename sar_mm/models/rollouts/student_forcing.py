"""Full student forcing (docs/method.md §1.2; ScaleAR's ``train_step_student_forcing``)."""
from sar_mm.registry import ROLLOUTS
from .hybrid import HybridTFSF

__all__ = ['StudentForcing']


@ROLLOUTS.register_module()
class StudentForcing(HybridTFSF):
    """Every scale's input comes from the model's own previous-scale tokens.

    ``K`` sequential forwards: the first holds only the start token and predicts
    scale 1; pass ``k`` (``k >= 2``) predicts scale ``k`` from
    ``Up_k(e(pred_{k-1}))``, where ``pred_{k-1}`` was read off pass ``k - 1``
    (itself student-forced). Every pass is in the graph; the chained tokens are
    discrete, so no gradient flows between passes. Targets: ground truth of
    every scale (use ``ScaleCrossEntropyLoss``). This is :class:`HybridTFSF`
    with ``tf_max_scale=1``: only the first scale (side 1, the start token's
    prediction) is teacher-forced.

    Args:
        context (str): ``'markov'`` (default; class token and the current scale
            only, the ScaleAR/SAR student attention) or ``'full'`` (block-causal
            over all previous, themselves student-forced, blocks).
        token_selection (str): ``'argmax'`` or ``'sample'`` for the chained tokens.
        top_k (int), top_p (float): sampler settings for ``'sample'``.
        seed (int): base seed of the sampler's generator (offset by rank).
    """

    def __init__(self, context: str = 'markov', token_selection: str = 'argmax',
                 top_k: int = 0, top_p: float = 0.0, seed: int = 0) -> None:
        super().__init__(tf_max_scale=1, context=context, token_selection=token_selection,
                         top_k=top_k, top_p=top_p, seed=seed)
