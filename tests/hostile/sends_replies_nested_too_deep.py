# loses:
# jobs: 1
# Lines with the session's secret (found with gc) whose JSON nests deeper than any parser
# recurses. Decoding them must cost this student at most their own replies, never the
# session of the student graded next in the same slot.
import gc as _gc
import os as _os

for _channel in [o for o in _gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")]:
    _deep = "[" * 300_000 + "]" * 300_000
    for _id in (0, 1, 2):
        _line = '\n{"secret": "%s", "id": %d, "op": "loaded", "status": "ok", "value": %s}\n' % (
            _channel.secret, _id, _deep)
        _os.write(_channel._fd_out, _line.encode())
