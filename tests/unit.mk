# Check unit tests: tests/test-X.c tests src/X.c.
UNIT_TESTS = \
	tests/test-strv

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_test_strv_SOURCES = tests/test-strv.c
tests_test_strv_CFLAGS = $(UNIT_CFLAGS)
tests_test_strv_LDADD = $(UNIT_LDADD)
