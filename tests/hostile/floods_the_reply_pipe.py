# loses: 3b
# jobs: 1
# 60 MB of junk on the reply pipe in one line without the secret, then a reply-shaped line
# with the secret that is larger than any reply may be. The grader must drop the junk
# unread and unbuffered, and end this session, not the run.
import gc as _gc
import os as _os

for _channel in [o for o in _gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")]:
    _junk = b"x" * (1 << 20)
    try:
        _os.write(_channel._fd_out, b"\n")
        for _ in range(60):
            _os.write(_channel._fd_out, _junk)
        _os.write(_channel._fd_out, b"\n")
    except OSError:
        pass


def lm_head(H, E):  # an oversized reply: the session ends, a fresh one grades the rest
    import gc
    import os

    for channel in [o for o in gc.get_objects() if type(o).__name__ == "_Channel" and getattr(o, "secret", "")]:
        os.write(channel._fd_out, ('\n{"secret": "%s", "id": 0, "pad": "' % channel.secret).encode())
        for _ in range(100):
            os.write(channel._fd_out, b"y" * (1 << 20))
    return None
