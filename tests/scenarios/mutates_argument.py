# loses: 2b 2c 2e
# (houlsby_fnn and lora_fnn call fnn, so they modify X too)
# outcome: failed
import numpy as np


def fnn(X, W_up, W_down):
    result = np.maximum(X @ W_up, 0.0) @ W_down
    X[...] = 0.0
    return result
