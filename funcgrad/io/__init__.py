"""Checkpoints: save a pytree of arrays to one ``.npz`` file and load it back, bit for bit.

The tree structure is stored as JSON in an entry ``__treedef__`` of the ``.npz``; leaves are
stored as ordinary ``.npy`` entries. There is no pickle anywhere: files are read with
``np.load(..., allow_pickle=False)``, and container types (namedtuples, registered
dataclasses/pytree nodes) are recorded by ``module`` + ``qualname`` and, on load, looked up
only in modules that are already imported and only if they are namedtuples or registered
pytree node types. Loading an untrusted file therefore never imports a module nor runs code
other than the ``unflatten`` of a type the program itself registered.

``save`` writes exactly to the path given (no ``.npz`` suffix is added, unlike ``np.savez``)
and is atomic: the data goes to a temporary file in the same directory, which is flushed,
fsync'ed and then renamed over the target, and the directory is fsync'ed. A crash at any
point leaves either the old file or the new one, never a partial file.

>>> import os, tempfile
>>> import numpy as np
>>> with tempfile.TemporaryDirectory() as d:
...     save(os.path.join(d, "ckpt.npz"), {"w": np.arange(3, dtype=np.float32), "step": 7})
...     load(os.path.join(d, "ckpt.npz"))
{'step': 7, 'w': array([0., 1., 2.], dtype=float32)}
"""

from funcgrad.io._checkpoint import *  # noqa: F403
from funcgrad.io._checkpoint import __all__ as __all__
