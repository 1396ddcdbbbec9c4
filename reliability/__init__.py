"""Reliability suites: a long fault run and a sustained load run, against real services.

`python -m reliability faults|load|all` runs the long versions (README: "Reliability");
tests/e2e/test_reliability.py runs short versions of the same code in the test command.
"""
