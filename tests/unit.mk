# Check unit tests: tests/test-X.c tests src/X.c.
UNIT_TESTS = \
	tests/test-strv \
	tests/test-verdict \
	tests/test-policy \
	tests/test-sshdconf \
	tests/test-config \
	tests/test-chain \
	tests/test-watcher \
	tests/test-journal \
	tests/test-dropin \
	tests/test-keys

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/unit-helpers.h

tests_test_strv_SOURCES = tests/test-strv.c
tests_test_strv_CFLAGS = $(UNIT_CFLAGS)
tests_test_strv_LDADD = $(UNIT_LDADD)
tests_test_verdict_SOURCES = tests/test-verdict.c
tests_test_verdict_CFLAGS = $(UNIT_CFLAGS)
tests_test_verdict_LDADD = $(UNIT_LDADD)
tests_test_policy_SOURCES = tests/test-policy.c
tests_test_policy_CFLAGS = $(UNIT_CFLAGS)
tests_test_policy_LDADD = $(UNIT_LDADD)
tests_test_sshdconf_SOURCES = tests/test-sshdconf.c
tests_test_sshdconf_CFLAGS = $(UNIT_CFLAGS)
tests_test_sshdconf_LDADD = $(UNIT_LDADD)
tests_test_config_SOURCES = tests/test-config.c
tests_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_test_config_LDADD = $(UNIT_LDADD)
tests_test_chain_SOURCES = tests/test-chain.c
tests_test_chain_CFLAGS = $(UNIT_CFLAGS)
tests_test_chain_LDADD = $(UNIT_LDADD)
tests_test_watcher_SOURCES = tests/test-watcher.c
tests_test_watcher_CFLAGS = $(UNIT_CFLAGS)
tests_test_watcher_LDADD = $(UNIT_LDADD)
tests_test_journal_SOURCES = tests/test-journal.c
tests_test_journal_CFLAGS = $(UNIT_CFLAGS)
tests_test_journal_LDADD = $(UNIT_LDADD)
tests_test_keys_SOURCES = tests/test-keys.c
tests_test_keys_CFLAGS = $(UNIT_CFLAGS)
tests_test_keys_LDADD = $(UNIT_LDADD)
tests_test_dropin_SOURCES = tests/test-dropin.c
tests_test_dropin_CFLAGS = $(UNIT_CFLAGS)
tests_test_dropin_LDADD = $(UNIT_LDADD)
