# loses: 3b
# outcome: timeout
def lm_head(H, E):
    while True:
        pass
