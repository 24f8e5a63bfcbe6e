# loses:
# jobs: 1
# Keeps the session alive after it is told to stop: os._exit is patched away and a thread
# keeps sending lines with the session's secret (found with gc). Closing the session must
# still end within its deadline, so the whole run ends in time and the next student of the
# slot is graded as usual.
import gc as _gc
import os as _os
import threading as _threading
import time as _time


def _keep_talking():
    channels = [o for o in _gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")]
    while channels:
        for channel in channels:
            try:
                _os.write(channel._fd_out, ('\n{"secret": "%s", "id": -1, "status": "ok"}\n' % channel.secret).encode())
            except OSError:
                return
        _time.sleep(0.2)


_threading.Thread(target=_keep_talking).start()
_os._exit = lambda code=0: None
