"""One module per platform that `grade export` writes for (see grader/export.py).

Each module has `write(graded, course, to, options) -> (files written, warnings)`; the
warnings name every student a file leaves out and why. `common` reads the output folder and
the roster and holds what every format shares.
"""
