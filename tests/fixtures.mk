# Shared fixtures (tests/lib/) and the tests that prove them.
