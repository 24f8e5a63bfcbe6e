# loses:
# requires: sandbox
# Empty files cost no blocks but kernel memory for each inode: the session's file systems
# cap inodes as well as bytes. Were more than 100,000 files possible, 3e turns wrong.
import os as _os

_made = 0
for _folder in (".", "/tmp", "/dev/shm"):
    for _i in range(200_000):
        try:
            open(_os.path.join(_folder, f"f{_i}"), "w").close()
        except OSError:
            break
        _made += 1
if _made > 100_000:
    LARGEST_COMPONENT = f"made {_made} files"
