# loses:
# requires: sandbox
# Looking for the other student's files and for the grader's processes.
import os as _os

_seen = []
for _root in ("/tmp", "/run", "/var/tmp", "/home", "/root", "/work"):
    for _dirpath, _dirs, _files in _os.walk(_root):
        if any("victim" in name for name in _files + _dirs):
            _seen.append(_dirpath)
        if len(_seen) > 3:
            break
for _pid in _os.listdir("/proc"):
    if _pid.isdigit():
        try:
            _cmd = open(f"/proc/{_pid}/cmdline", "rb").read()
        except OSError:
            continue
        if b"pytest" in _cmd or b"grade" in _cmd.split(b"\0")[0]:
            _seen.append(_pid)
if _seen:
    LARGEST_COMPONENT = "seen " + ", ".join(_seen[:5])
