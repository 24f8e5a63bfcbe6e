# loses:
# cells: 3000
# A notebook of 3,000 cells that each raise with a long message: the feedback page lists a
# few and counts the rest, and every output of this student stays small.
raise ValueError("**Total: 55 / 55** ![x](http://example.invalid/x.png) " + "x" * 2000)
