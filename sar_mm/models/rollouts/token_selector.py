"""How a rollout turns its own logits into tokens, with a checkpointable RNG."""
from typing import Dict, Optional

import torch

from ..utils.rank_seed import rank_seed
from ..utils.sampling import greedy_from_logits, sample_from_logits

__all__ = ['TokenSelector']


class TokenSelector:
    """Arg-max or top-k/top-p sampling of rollout tokens (docs/method.md §2.2, §7.27).

    Sampling draws from a private ``torch.Generator`` seeded
    ``seed * world_size + rank`` and created lazily on the device of the first
    logits it sees (no device generator exists at build time). It is separate
    from the global RNG, so label dropout and drop-path do not shift it.
    ``state_dict()`` / ``load_state_dict()`` let a resumed run continue the same
    stream; a state loaded before the generator exists is applied when it is
    created.

    Args:
        mode (str): ``'argmax'`` or ``'sample'``.
        top_k (int): top-k of the sampler (``0`` disables).
        top_p (float): nucleus mass of the sampler (``0`` disables).
        seed (int): base seed of the generator.
    """

    MODES = ('argmax', 'sample')

    def __init__(self, mode: str = 'argmax', top_k: int = 0, top_p: float = 0.0,
                 seed: int = 0) -> None:
        if mode not in self.MODES:
            raise ValueError(f'token selection must be one of {self.MODES}, got {mode!r}')
        if top_k < 0 or not 0.0 <= top_p <= 1.0:
            raise ValueError(f'expected top_k >= 0 and 0 <= top_p <= 1, got {top_k}, {top_p}')
        self.mode = mode
        self.top_k = top_k
        self.top_p = top_p
        self.seed = seed
        self.generator: Optional[torch.Generator] = None
        self._pending_state: Optional[Dict] = None

    def _get_generator(self, device: torch.device) -> torch.Generator:
        if self.generator is None or self.generator.device.type != device.type:
            self.generator = torch.Generator(device=device)
            self.generator.manual_seed(rank_seed(self.seed))
            if self._pending_state is not None:
                self._set_state(self._pending_state)
                self._pending_state = None
        return self.generator

    @torch.no_grad()
    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """Select one token per position.

        Args:
            logits (Tensor): (B, l, V); read only (never filtered in place).
                Sampling filters and draws in float32 (logits may be half
                precision under autocast). Non-finite entries are sampled as
                0: a step whose logits hold NaN draws tokens instead of
                crashing the sampler, and its non-finite loss (computed from the
                untouched logits) is then skipped or reported by the optim
                wrapper and ``NonFiniteLossHook``. Finite logits are unchanged.

        Returns:
            Tensor: (B, l) int64.
        """
        if self.mode == 'argmax':
            return greedy_from_logits(logits)
        logits = logits.float()
        logits = torch.where(torch.isfinite(logits), logits, torch.zeros((), device=logits.device))
        return sample_from_logits(logits, self.top_k, self.top_p,
                                  self._get_generator(logits.device))

    def state_dict(self) -> Dict:
        """The generator state (empty until the generator has been used)."""
        if self.generator is None:
            return dict(self._pending_state or {})
        return dict(device_type=self.generator.device.type,
                    rng_state=self.generator.get_state())

    def _set_state(self, state: Dict) -> None:
        if state['device_type'] != self.generator.device.type:
            raise ValueError(f'rollout generator state was saved on {state["device_type"]!r} '
                             f'but is being restored on {self.generator.device.type!r}')
        self.generator.set_state(state['rng_state'].cpu())

    def load_state_dict(self, state: Dict) -> None:
        if not state:
            return
        if self.generator is None:
            self._pending_state = dict(state)
        else:
            self._set_state(state)
