# loses: 3d
# outcome: error
import ctypes


def num_heads(d_model, d_head):
    return ctypes.string_at(0)
