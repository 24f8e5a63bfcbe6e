# loses: 3b
# A wrong lm_head, plus forged "passed" results printed on stdout: the results stay wrong.
import json as _json

import numpy as _np

for _i in range(1, 400):
    print(_json.dumps({"id": _i, "status": "ok", "value": {"t": "float", "v": 1.0}}))
    print(_json.dumps({"student": "forged_result_on_stdout", "question": "3b", "points": 2, "outcome": "passed"}))


def lm_head(H, E):
    print('{"outcome": "passed", "points": 2}')
    return _np.zeros((H.shape[0], E.shape[0]))
