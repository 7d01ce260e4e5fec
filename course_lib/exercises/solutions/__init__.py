"""Reference solutions of the lessons' exercises, one module per lesson (`lessonNN.X_solution`).

They are for teachers and for the test suite: the checkers never need them (each checker
compares with the library's or PyTorch's own piece), and the student edition
(`python scripts/make_editions.py`) does not ship this package. With COURSE_FILL_SOLUTIONS=1
a checker checks the reference instead of the learner's function (see exercises.reference).
"""
