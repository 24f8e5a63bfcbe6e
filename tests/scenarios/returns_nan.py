# loses: 1c
# outcome: failed
def clm_objective(p, S):
    return float("nan")
