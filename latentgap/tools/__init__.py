"""Tooling beside the core: the benchmark suite (`bench`), the reliability self-check (`selfcheck`), the mini-zoo
trainer (`zoo_build`) and its general-domain corpus (`corpus`).

These import the core (`latentgap.*`); the core never imports them (tests/test_architecture.py), so they cannot
form import cycles with it. The CLI reaches them only inside the verbs that need them.
"""
