# loses: 3b
# Comparisons patched to say "equal" in the student's process, and a wrong lm_head.
import builtins as _builtins
import math as _math

import numpy as _np

_np.allclose = lambda *a, **k: True
_np.isclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
_math.isclose = lambda *a, **k: True
_builtins.abs = lambda x: 0
_builtins.isinstance = lambda obj, kind: True


def lm_head(H, E):
    return _np.full((H.shape[0], E.shape[0]), 0.5)
