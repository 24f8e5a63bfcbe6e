# loses:
# 200 MB printed while loading: the grader keeps only a tail of it.
import sys as _sys

_line = "spam " * 2000 + "\n"
for _ in range(200 * 1024 * 1024 // len(_line)):
    _sys.stdout.write(_line)
