# loses: 3b
# A reply with the session's secret, just under the size cap, made of 30 million empty
# lists: parsed, it would cost the grader gigabytes. It is refused before it is parsed, and
# only lm_head pays.
import gc as _gc
import os as _os


def lm_head(H, E):
    for channel in [o for o in _gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")]:
        line = (b'\n{"secret": "' + channel.secret.encode() + b'", "id": -1, "status": "ok", "value": {"t": "list", "v": ['
                + b"[]," * 30_000_000 + b'[]]}}\n')
        view = memoryview(line)
        while view:
            view = view[_os.write(channel._fd_out, view):]
    return None
