# loses:
# requires: sandbox
import os as _os
import signal as _signal

for _target in (_os.getppid(), 1):
    try:
        _os.kill(_target, _signal.SIGKILL)
    except OSError:
        pass
