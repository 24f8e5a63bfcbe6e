# loses: 3c
# outcome: error
import numpy as np


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    return np.ones(50 * 2**30 // 8)
