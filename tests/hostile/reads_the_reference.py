# loses:
# requires: sandbox
# Reading the reference (or the rubric) from disk and running it: if that works, the answer
# below turns wrong and the test sees 3e lost.
import glob as _glob

_stolen = []
for _pattern in ("@@REFERENCE@@", "@@RUBRIC@@", "../../reference/*.py", "/*/*/reference/*.py",
                 "/*/reference/ex07.py", "/tmp/*/reference/ex07.py", "/tmp/*/*/reference/ex07.py"):
    for _path in _glob.glob(_pattern)[:5]:
        try:
            _source = open(_path).read()
            _namespace = {}
            exec(compile(_source, _path, "exec"), _namespace)
            _stolen.append(_path)
        except Exception:
            pass
if _stolen:
    LARGEST_COMPONENT = "stolen: " + ", ".join(_stolen)
