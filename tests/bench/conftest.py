"""The coordination tests' course fixture, for the baseline checks."""

from tests.coordinators.conftest import before_c1, course  # noqa: F401 (fixtures)
