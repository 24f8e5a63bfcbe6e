# loses: 2a 2c 2e
# Free-text answers built to make the rubric's patterns backtrack: `adapter.*(lora|...)` on
# "adapter adapter ..." (2a) and `\bm\b.*(small|...)` on "m m m ..." (2c) take time quadratic
# in the answer's length; 96 KB of it cost the grader about 40 s of CPU per answer. Cut at
# 20,000 characters and searched under a time limit, the answers cost it a moment, and only
# this student loses the points their real answers would have earned.
ANSWER_2A = "adapter " * 12000
ANSWER_2C = "m " * 48000
ANSWER_2E = "adapter lora " * 8000
