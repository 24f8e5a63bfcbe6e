# loses: 3b
# requires: sandbox
# jobs: 1
# A folder made read-only (mode 0555), and a read-only `resource` package in it, cannot be
# removed by a clean-up that runs with the student's uid. Whatever a session wrote must be
# gone for the next session in the same sandbox (the next student's, or this student's own
# after a crash): when the second session finds it, an answer turns wrong and 3e is lost.
import os as _os

_found = [p for p in ("locked", "resource", "/tmp/locked", "/dev/shm/locked") if _os.path.exists(p)]
if _found:
    LARGEST_COMPONENT = "found " + ", ".join(_found)
for _base in ("locked", "resource", "/tmp/locked", "/dev/shm/locked"):
    try:
        _os.makedirs(_os.path.join(_base, "inner"), exist_ok=True)
        with open(_os.path.join(_base, "__init__.py"), "w") as _handle:
            _handle.write("def setrlimit(*args):\n    pass\nRLIMIT_AS = 9\n")
        _os.chmod(_os.path.join(_base, "inner"), 0o555)
        _os.chmod(_base, 0o555)
    except OSError:
        pass


def lm_head(H, E):  # the function that restarts the process: a second session, same student
    import os

    os._exit(3)
