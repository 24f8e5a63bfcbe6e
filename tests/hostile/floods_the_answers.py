# loses: 1a 1b 1d 1e 1f 2a 2c 2d 2e 2f 2g 3a 3b 3c
# Fourteen 10 MB answers from a small file: written out whole, they took 281 MB per run and
# grew grade.db by 147 MB on every rerun. Each answer is cut at 20,000 characters.
ANSWER_1A = ANSWER_1B = ANSWER_1D = ANSWER_1E = ANSWER_1F = "x" * 10_000_000
ANSWER_2A = ANSWER_2C = ANSWER_2D = ANSWER_2E = ANSWER_2F = ANSWER_2G = "x" * 10_000_000
ANSWER_3A = ANSWER_3B = ANSWER_3C = "x" * 10_000_000
