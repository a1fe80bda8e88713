"""Checkpoint I/O: every format, the trust rule, and the exact error of each kind of bad file."""
import argparse
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader, load_checkpoint

from sar_mm.utils import checkpoint_io
from sar_mm.utils.checkpoint_io import (CheckpointMismatchError, CheckpointReadError,
                                        checkpoint_state_dict, is_trusted_checkpoint,
                                        load_checkpoint_file, load_state_dict_checked,
                                        read_state_dict, register_checkpoint_loader,
                                        trust_checkpoint_path)

NOT_A_CHECKPOINT = r'is not a checkpoint: '
TRUNCATED = r'is truncated or corrupt: '


@pytest.fixture(autouse=True)
def no_trusted_paths(monkeypatch):
    monkeypatch.setattr(checkpoint_io, '_TRUSTED', [])


def _mmengine_style(path: Path) -> None:
    """A checkpoint as MMEngine writes it: weights plus non-tensor objects."""
    torch.save(dict(meta=dict(epoch=1), state_dict=dict(w=torch.ones(2)),
                    message_hub=dict(log_scalars=dict(loss=HistoryBuffer([1.0], [1]))),
                    numpy_state=np.zeros(2)), path)


def _official_flexvar_style(path: Path) -> None:
    """An official FlexVAR / SAR training checkpoint: its ``args`` class is not importable."""
    module = types.ModuleType('official_arg_util_for_test')
    args_class = type('Args', (), {'__module__': module.__name__})
    module.Args = args_class
    args = args_class()
    args.depth = 2
    sys.modules[module.__name__] = module
    try:
        torch.save(dict(epoch=3, args=args, trainer=dict(var_wo_ddp=dict(w=torch.ones(2)))),
                   path)
    finally:
        del sys.modules[module.__name__]


# --- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize('layout,legacy', [
    ('flat', False), ('flat', True), ('converted', False), ('flexvae', False)])
def test_weights_only_formats_load_untrusted(tmp_path, layout, legacy):
    weights = dict(w=torch.arange(3.0))
    saved = dict(flat=weights, converted=dict(state_dict=weights, meta=dict(converter='x')),
                 flexvae=dict(model=weights))[layout]
    path = tmp_path / 'file.pth'
    torch.save(saved, path, _use_new_zipfile_serialization=not legacy)
    torch.testing.assert_close(read_state_dict(path)['w'], torch.arange(3.0))


def test_mmengine_training_checkpoint_needs_trust(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    _mmengine_style(path)
    with pytest.raises(CheckpointReadError) as error:
        load_checkpoint_file(path)
    message = str(error.value)
    assert message.startswith(f'{path} holds Python objects besides tensors (')
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in message
    assert 'pass --trust-checkpoint' in message
    loaded = load_checkpoint_file(path, trust_checkpoint=True)
    assert isinstance(loaded['message_hub']['log_scalars']['loss'], HistoryBuffer)
    assert checkpoint_state_dict(loaded, path).keys() == {'w'}


def test_official_training_checkpoint_with_unimportable_args(tmp_path):
    path = tmp_path / 'SARd2-epo3.pth'
    _official_flexvar_style(path)
    with pytest.raises(CheckpointReadError, match=r'official_arg_util_for_test\.Args.*'
                       r'pass --trust-checkpoint'):
        read_state_dict(path)
    loaded = load_checkpoint_file(path, trust_checkpoint=True)
    assert loaded['args'].pickled_state == dict(depth=2)  # an inert placeholder
    torch.testing.assert_close(read_state_dict(path, trust_checkpoint=True)['w'], torch.ones(2))


def test_layouts_are_found_in_order(tmp_path):
    tensors = dict(w=torch.zeros(1))
    assert checkpoint_state_dict(dict(state_dict=tensors, model=dict(x=1)), 'f') is tensors
    assert checkpoint_state_dict(dict(trainer=dict(var_wo_ddp=tensors)), 'f') is tensors
    assert checkpoint_state_dict(dict(model=tensors), 'f') is tensors
    assert checkpoint_state_dict(tensors, 'f') is tensors


@pytest.mark.parametrize('saved,message', [
    ([torch.zeros(1)], 'f holds a list, not a checkpoint dict'),
    ({}, 'f has no state dict of tensors: its flat entries are empty'),
    (dict(trainer=dict(config={})), "f has no state dict of tensors: its flat entries include "
                                    "non-tensors ['trainer']"),
    (dict(state_dict=dict(w=torch.zeros(1), note='x')),
     "f has no state dict of tensors: its ['state_dict'] (sar_mm, MMEngine) entries include "
     "non-tensors ['note']"),
])
def test_contents_without_a_state_dict_are_named(saved, message):
    with pytest.raises(CheckpointMismatchError) as error:
        checkpoint_state_dict(saved, 'f')
    assert str(error.value).startswith(message)


# --- files that are not checkpoints, or damaged ones ------------------------------------------


def _write_not_a_checkpoint(path: Path, kind: str) -> None:
    if kind == 'random bytes':
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'text':
        path.write_text('this is not a checkpoint\n')
    else:  # a pickle that torch.save did not write
        path.write_bytes(pickle.dumps(dict(w=1), protocol=4))


@pytest.mark.parametrize('kind', ['random bytes', 'empty', 'text', 'plain pickle'])
@pytest.mark.parametrize('trust', [False, True])
def test_a_file_that_is_not_a_checkpoint_is_called_that(tmp_path, kind, trust):
    path = tmp_path / 'weights.pth'
    _write_not_a_checkpoint(path, kind)
    with pytest.raises(CheckpointReadError) as error:
        load_checkpoint_file(path, trust_checkpoint=trust)
    message = str(error.value)
    assert message.startswith(f'{path} {NOT_A_CHECKPOINT}')
    assert 'trust' not in message
    if kind == 'empty':
        assert message == f'{path} is not a checkpoint: the file is empty'


def test_a_zip_archive_that_torch_did_not_write(tmp_path):
    path = tmp_path / 'archive.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('notes.txt', 'hello')
    with pytest.raises(CheckpointReadError, match='is not a checkpoint: a zip archive without the '
                       'data.pkl that torch.save writes'):
        load_checkpoint_file(path, trust_checkpoint=True)


@pytest.mark.parametrize('legacy', [False, True])
@pytest.mark.parametrize('trust', [False, True])
@pytest.mark.parametrize('cut', [0.5, 0.9, 30])
def test_a_truncated_checkpoint_is_called_truncated(tmp_path, legacy, trust, cut):
    whole = tmp_path / 'whole.pth'
    torch.save(dict(state_dict=dict(w=torch.arange(1000.0)), meta=dict(epoch=1)), whole,
               _use_new_zipfile_serialization=not legacy)
    data = whole.read_bytes()
    path = tmp_path / 'cut.pth'
    path.write_bytes(data[:cut if isinstance(cut, int) else int(len(data) * cut)])
    with pytest.raises(CheckpointReadError) as error:
        load_checkpoint_file(path, trust_checkpoint=trust)
    message = str(error.value)
    assert message.startswith(f'{path} {TRUNCATED}') and message.endswith('write or fetch it again')
    assert 'trust' not in message


def test_a_truncated_checkpoint_with_python_objects_is_called_truncated(tmp_path):
    whole = tmp_path / 'epoch_1.pth'
    _mmengine_style(whole)
    path = tmp_path / 'cut.pth'
    path.write_bytes(whole.read_bytes()[:-100])
    with pytest.raises(CheckpointReadError, match=f'^{path} {TRUNCATED}'):
        load_checkpoint_file(path)


def test_a_garbled_pickle_inside_a_whole_archive_is_corrupt(tmp_path):
    whole = tmp_path / 'whole.pth'
    torch.save(dict(w=torch.zeros(2)), whole)
    path = tmp_path / 'garbled.pth'
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, 'w') as target:
        for name in source.namelist():
            target.writestr(name, b'\x80\x02garbage' if name.endswith('/data.pkl')
                            else source.read(name))
    for trust in (False, True):
        with pytest.raises(CheckpointReadError, match=f'^{path} {TRUNCATED}its pickled '
                           'structure is cut short or garbled'):
            load_checkpoint_file(path, trust_checkpoint=trust)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint file .*none.pth not found'):
        load_checkpoint_file(tmp_path / 'none.pth')


# --- key mismatches -------------------------------------------------------------------------


def test_load_state_dict_checked_names_every_mismatch():
    module = torch.nn.Linear(3, 2)
    state = dict(weight=torch.zeros(2, 4), extra=torch.zeros(1))
    with pytest.raises(CheckpointMismatchError) as error:
        load_state_dict_checked(module, state, 'ckpt.pth', 'layer')
    assert str(error.value) == (
        'ckpt.pth does not fit the layer: 1 missing keys: bias; 1 unexpected keys: extra; '
        '1 shape mismatches: weight: checkpoint (2, 4) vs model (2, 3)')
    good = dict(weight=torch.ones(2, 3), bias=torch.ones(2))
    load_state_dict_checked(module, good, 'ckpt.pth', 'layer')
    torch.testing.assert_close(module.weight.detach(), torch.ones(2, 3))


# --- trust and MMEngine ----------------------------------------------------------------------


def test_trusted_directory_and_file(tmp_path: Path):
    path = tmp_path / 'work' / 'epoch_1.pth'
    path.parent.mkdir()
    _mmengine_style(path)
    trust_checkpoint_path(str(tmp_path / 'work'))
    assert is_trusted_checkpoint(str(path))
    assert not is_trusted_checkpoint(str(tmp_path / 'work2' / 'x.pth'))  # prefix, not a child
    loaded = load_checkpoint_file(str(path))
    assert isinstance(loaded['message_hub']['log_scalars']['loss'], HistoryBuffer)


def test_registered_as_mmengine_local_loader(tmp_path: Path):
    register_checkpoint_loader()
    assert CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'a.pth')) is \
        load_checkpoint_file
    path = tmp_path / 'epoch_2.pth'
    _mmengine_style(path)
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(CheckpointReadError, match='epoch_2.pth holds Python objects'):
        load_checkpoint(model, str(path))
    trust_checkpoint_path(str(path))
    load_checkpoint(model, str(path))
    torch.testing.assert_close(model.w.detach(), torch.ones(2))


def test_memory_mapped_loading(tmp_path: Path):
    path = tmp_path / 'epoch_1.pth'
    _mmengine_style(path)
    loaded = load_checkpoint_file(path, trust_checkpoint=True, mmap=True)
    assert loaded['meta'] == dict(epoch=1)
    torch.testing.assert_close(loaded['state_dict']['w'], torch.ones(2))


def test_argparse_namespace_is_named(tmp_path: Path):
    path = tmp_path / 'train.pth'
    torch.save(dict(state_dict=dict(w=torch.zeros(1)), meta=argparse.Namespace(epoch=3)), path)
    with pytest.raises(CheckpointReadError, match=r'\(argparse\.Namespace\)'):
        load_checkpoint_file(path)
