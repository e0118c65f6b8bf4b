"""The exception types funcgrad raises (each subclasses the matching builtin); the catalogue
of messages is ``docs/errors.md``.

>>> from funcgrad.errors import ConcretizationError
>>> issubclass(ConcretizationError, TypeError)
True
"""

from funcgrad.core.errors import ConcretizationError, TracerConversionError, TracerLeakError

__all__ = ["ConcretizationError", "TracerConversionError", "TracerLeakError"]
