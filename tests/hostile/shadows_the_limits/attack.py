# loses:
# requires: sandbox
# The folder ships `resource/__init__.py` whose setrlimit does nothing. Were the child to
# set its limits with the student's module, the 3 GB below would be allocated although the
# rubric caps memory at 2,048 MB; then an answer turns wrong and the test sees 3e lost.
import numpy as _np

try:
    _big = _np.ones(3 * 2**30 // 8)
    _big[::4096] = 2.0
    LARGEST_COMPONENT = f"allocated {_big.nbytes >> 20} MB"
    del _big
except MemoryError:
    pass
