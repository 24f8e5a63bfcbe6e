# loses: 3e
# A short name that lists every candidate, hoping one of them is right: it must name one
# answer as a whole, so it earns nothing (nor the credit of a known mistake).
LARGEST_COMPONENT = "attention/embedding/fnn"
