# loses:
# Junk, and well-formed fake replies, on every file descriptor, while loading and in a call.
import os as _os

_FAKE = b'{"id": 1, "status": "ok", "value": {"t": "int", "v": 96}}\n{"op": "loaded", "cells": []}\nnot json\n'


def _spray():
    for fd in range(1024):
        try:
            _os.write(fd, _FAKE)
        except OSError:
            pass


_spray()
_honest_num_heads = num_heads


def num_heads(d_model, d_head):
    _spray()
    return _honest_num_heads(d_model, d_head)
