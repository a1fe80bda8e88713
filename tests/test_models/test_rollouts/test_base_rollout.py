import pytest
import torch

from sar_mm.models.rollouts import (HybridTFSF, InterleaveTFSF, StaggerScaleRollout,
                                    StudentForcing, TeacherForcing)


def test_a_strategy_without_selector_has_no_state():
    rollout = TeacherForcing()
    assert rollout.selector is None and rollout.state_dict() == {}
    rollout.load_state_dict({})
    with pytest.raises(ValueError, match='TeacherForcing has no state'):
        rollout.load_state_dict(dict(rng_state=torch.zeros(3)))


@pytest.mark.parametrize('build', [
    lambda seed: HybridTFSF(token_selection='sample', seed=seed),
    lambda seed: StudentForcing(token_selection='sample', seed=seed),
    lambda seed: InterleaveTFSF(token_selection='sample', seed=seed),
    lambda seed: StaggerScaleRollout(seed=seed)])
def test_the_state_of_a_strategy_is_its_selectors_stream(build):
    logits = torch.zeros(2, 9, 30)  # uniform: every draw consumes randomness
    rollout = build(1)
    rollout.selector(logits)
    state = rollout.state_dict()
    assert state['device_type'] == 'cpu'
    assert torch.equal(state['rng_state'], rollout.selector.generator.get_state())
    expected = rollout.selector(logits)
    resumed = build(7)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.selector(logits), expected)
