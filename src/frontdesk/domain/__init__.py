"""The pure rules core.

Nothing in this package performs I/O or reads a clock: every function takes
the facts and the current time it needs. Allowed imports are the standard
library, ``phonenumbers`` and ``zoneinfo`` (checked by tests/test_architecture.py).
"""
