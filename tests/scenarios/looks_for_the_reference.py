# loses:
# If anything of the reference is reachable from the student's process, this answer
# turns wrong and the scenario loses 3e.
import importlib
import sys

_found = [name for name in sys.modules if "reference" in name and name != __name__]
for _name in ("reference", "reference.ex07", "ex07", "grade_reference_ex07"):
    try:
        importlib.import_module(_name)
        _found.append(_name)
    except ImportError:
        pass
if _found:
    LARGEST_COMPONENT = "leaked: " + ", ".join(_found)
