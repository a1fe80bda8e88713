import pytest
import torch

from sar_mm.utils import ConversionError, check_state_dict_matches, state_dict_problems


def test_problems_name_counts_keys_and_shapes():
    expected = {'a': torch.zeros(2), 'b': torch.zeros(3), 'c': torch.zeros(1)}
    got = {'a': torch.zeros(2), 'b': torch.zeros(4), 'd': torch.zeros(1)}
    assert state_dict_problems(got, expected) == [
        '1 missing keys: c', '1 unexpected keys: d',
        '1 shape mismatches: b: checkpoint (4,) vs model (3,)']
    assert state_dict_problems(expected, expected) == []


def test_long_lists_are_cut_at_20_with_the_rest_counted():
    expected = {f'k{i:02d}': torch.zeros(1) for i in range(25)}
    (line, ) = state_dict_problems({}, expected)
    assert line.startswith('25 missing keys: k00, k01') and line.endswith('k19 ... (+5 more)')


def test_check_raises_on_a_meta_model():
    with torch.device('meta'):
        model = torch.nn.Linear(2, 3)
    with pytest.raises(ConversionError, match=r'1 shape mismatches: weight: checkpoint \(3, 3\)'):
        check_state_dict_matches({'weight': torch.zeros(3, 3), 'bias': torch.zeros(3)}, model)
    check_state_dict_matches({'weight': torch.zeros(3, 2), 'bias': torch.zeros(3)}, model)
