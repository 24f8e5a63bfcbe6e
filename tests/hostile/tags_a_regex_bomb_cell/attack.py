# loses: 2a 2c
# id: bomber
# The same regex bombs as markdown cells tagged `answer:2a` and `answer:2c`, which are read
# without running any code: the folder's notebook imports the honest module and tags the
# bombs as its answers.
