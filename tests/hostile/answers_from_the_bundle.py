# loses: 1c 2b 2c 2e 2g 3a 3b 3c 3d
# Every public function becomes a lookup table of the self-check bundle's inputs and
# outputs (the harness fills in the table from a freshly built bundle). Grading uses cases
# the bundle does not hold, so the table earns nothing: it loses exactly the questions of
# the public function checks, and the victims are untouched.
# ---- answers from the self-check bundle: a lookup table, nothing implemented
import numpy as _np

_TABLE = @@BUNDLE_TABLE@@


def _same(given, kept):
    kind, value = kept
    if kind == "fixture":  # a fixture (a toy model) arrives as a callable: the other arguments tell the case
        return True
    if kind == "array":
        try:
            given = _np.asarray(given, dtype=float)
            return given.shape == _np.shape(value) and _np.allclose(given, value, rtol=0, atol=1e-12)
        except Exception:
            return False
    return given == value


def _lookup(name):
    def answer(*args):
        for case, (kind, output) in _TABLE[name]:
            if len(case) == len(args) and all(_same(a, k) for a, k in zip(args, case)):
                return _np.array(output) if kind == "array" else output
        raise LookupError(name + ": this case is not in the bundle")
    return answer


for _name in _TABLE:
    globals()[_name] = _lookup(_name)
