"""A local file backend whose writes are atomic: a file is complete or absent.

MMEngine's ``LocalBackend.put`` opens the destination and writes into it, so a
process killed while saving a checkpoint (pre-emption, OOM killer, Ctrl-C on a
node) leaves a truncated ``iter_N.pth`` under the final name. This backend
writes to ``.{name}.partial`` next to the destination, flushes and
``fsync``-s it, renames it over the destination with ``os.replace`` (atomic on
POSIX file systems) and ``fsync``-s the directory, so that after a crash the
destination holds either the previous content or the complete new one.

Select it for checkpoints in a config (``configs/_base_/default_runtime.py``
does)::

    default_hooks = dict(checkpoint=dict(type='CheckpointHook',
                                         backend_args=dict(backend='atomic_local')))

A partial file left by a killed write is replaced by the next write of the same
name; it is never read, since its name is not the destination's.
"""
import contextlib
import os
import os.path as osp
from pathlib import Path
from typing import BinaryIO, Iterator, Union

from mmengine.fileio.backends import LocalBackend, register_backend

__all__ = ['AtomicLocalBackend', 'atomic_write_bytes', 'atomic_write_file']


def _fsync_dir(dirname: str) -> None:
    """Persist a rename in ``dirname`` (no-op where directories cannot be opened)."""
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    # some file systems refuse fsync on directories; the rename itself has happened
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


@contextlib.contextmanager
def atomic_write_file(filepath: Union[str, Path], writer_tag: str = '') -> Iterator[BinaryIO]:
    """Open ``filepath`` for writing so that a crash never leaves it truncated.

    Yields a binary file at ``.{name}.partial`` next to ``filepath``; when the
    ``with`` block ends without an error the file is flushed, ``fsync``-ed and
    renamed over ``filepath``. On an error the partial file is removed and
    ``filepath`` keeps its previous content. For writers that stream (``np.savez``,
    ``torch.save``, ``PIL.Image.save``) without holding the whole file in memory.

    Args:
        filepath (str | Path): destination; its directory is created if needed.
        writer_tag (str): added to the partial file's name, for processes that may
            write the same destination at once (e.g. ``str(os.getpid())``).
    """
    filepath = osp.abspath(str(filepath))
    dirname, basename = osp.split(filepath)
    os.makedirs(dirname, exist_ok=True)
    partial = osp.join(dirname, f'.{basename}{"." + writer_tag if writer_tag else ""}.partial')
    try:
        with open(partial, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, filepath)
    except BaseException:
        if osp.exists(partial):
            os.remove(partial)
        raise
    _fsync_dir(dirname)


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that a crash never leaves it truncated.

    Args:
        data (bytes): the complete new content.
        filepath (str | Path): destination; its directory is created if needed.
    """
    with atomic_write_file(filepath) as f:
        f.write(data)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` and ``put_text`` replace files atomically."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (see the module docstring)."""
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write_bytes(obj.encode(encoding), filepath)
