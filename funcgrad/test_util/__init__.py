"""Testing helpers: compare autodiff with central finite differences."""

from funcgrad.test_util._check_grads import *  # noqa: F403
from funcgrad.test_util._check_grads import __all__ as __all__
