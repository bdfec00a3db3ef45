"""One module per exercise: the words, the solution code and the tests of its master notebook.

Each defines ``EXERCISE``, ``FILES`` (data files shipped next to the notebook), ``intro()``,
``questions()`` and ``outro()``; ``autograder.builder.notebooks`` turns them into the notebook.
"""
