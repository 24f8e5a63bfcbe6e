# loses: 3a
import time as _time


def sinusoidal_positional_encoding(n, d):
    _time.sleep(10_000)
