"""NETcare benchmarks: scripts that seed data, measure and print figures (not tests)."""
