import pytest
import torch

from sar_mm.models.utils.scale_layout import (CANONICAL_PATCH_NUMS, check_schedule, input_slice,
                                              num_tokens, scale_slices)


def test_canonical_schedule_is_the_680_token_one():
    assert CANONICAL_PATCH_NUMS == (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)
    assert num_tokens(CANONICAL_PATCH_NUMS) == 680
    check_schedule(CANONICAL_PATCH_NUMS)


def test_check_schedule_names_the_problem():
    with pytest.raises(ValueError, match='start with scale 1'):
        check_schedule([2, 3])
    with pytest.raises(ValueError, match='start with scale 1'):
        check_schedule([])
    with pytest.raises(ValueError, match='strictly increasing'):
        check_schedule([1, 3, 3])


def test_scale_slices_tile_the_sequence_scale_after_scale():
    assert scale_slices([1, 2, 3]) == [slice(0, 1), slice(1, 5), slice(5, 14)]
    slices = scale_slices(CANONICAL_PATCH_NUMS)
    assert slices[0].start == 0 and slices[-1].stop == 680
    assert all(a.stop == b.start for a, b in zip(slices, slices[1:]))


def test_input_slice_selects_the_rows_that_feed_a_block():
    # teacher-forced inputs of [1, 2, 3]: 13 rows, row r feeds token r + 1
    patch_nums = [1, 2, 3]
    rows = torch.arange(num_tokens(patch_nums) - 1)
    first, second, third = scale_slices(patch_nums)
    assert rows[input_slice(first)].tolist() == []  # the start token has no input row
    assert rows[input_slice(second)].tolist() == [0, 1, 2, 3]
    assert rows[input_slice(third)].tolist() == list(range(4, 13))
    assert rows[input_slice(slice(0, second.stop))].tolist() == [0, 1, 2, 3]  # a prefix
