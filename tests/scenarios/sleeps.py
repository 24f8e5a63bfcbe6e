# loses: 3a
# outcome: timeout
import time


def sinusoidal_positional_encoding(n, d):
    time.sleep(1000)
