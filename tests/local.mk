# Unit suites (Check). Each links libdrover.a.
UNIT_LDADD = $(DROVER_LIBS) $(CHECK_LIBS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
UNIT_TESTS = tests/unit/test_config tests/unit/test_lru tests/unit/test_envelope \
	tests/unit/test_sid tests/unit/test_fcgi_record
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
# cache/lru.c again, with the step hooks the dead-writer tests kill at
tests_unit_test_lru_SOURCES = tests/unit/test_lru.c cache/lru.c
tests_unit_test_lru_CPPFLAGS = $(AM_CPPFLAGS) -DLRU_TEST_HOOKS
tests_unit_test_lru_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lru_LDADD = $(UNIT_LDADD)
tests_unit_test_envelope_SOURCES = tests/unit/test_envelope.c
tests_unit_test_envelope_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_envelope_LDADD = $(UNIT_LDADD)
tests_unit_test_sid_SOURCES = tests/unit/test_sid.c
tests_unit_test_sid_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sid_LDADD = $(UNIT_LDADD)
tests_unit_test_fcgi_record_SOURCES = tests/unit/test_fcgi_record.c
tests_unit_test_fcgi_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fcgi_record_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_http
TESTS += tests/unit/test_http
tests_unit_test_http_SOURCES = tests/unit/test_http.c
tests_unit_test_http_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_l2
TESTS += tests/unit/test_l2
tests_unit_test_l2_SOURCES = tests/unit/test_l2.c
tests_unit_test_l2_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_l2_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_route
TESTS += tests/unit/test_route
tests_unit_test_route_SOURCES = tests/unit/test_route.c
tests_unit_test_route_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_route_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_static
TESTS += tests/unit/test_static
tests_unit_test_static_SOURCES = tests/unit/test_static.c
tests_unit_test_static_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_static_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_apps
TESTS += tests/unit/test_apps
tests_unit_test_apps_SOURCES = tests/unit/test_apps.c
tests_unit_test_apps_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_apps_LDADD = $(UNIT_LDADD)

# Everything else under tests/ ships in the release tarball too, so a
# packager can run the integration, chaos and fuzz suites from it.
EXTRA_DIST += tests/README.md tests/run-all.sh tests/valgrind.sh \
	tests/static-analysis.sh tests/cppcheck.supp tests/clang-tidy.supp \
	tests/integration tests/chaos tests/fuzz tests/mutate.sh tests/mutations
check_PROGRAMS += tests/unit/test_reqbody
TESTS += tests/unit/test_reqbody
tests_unit_test_reqbody_SOURCES = tests/unit/test_reqbody.c
tests_unit_test_reqbody_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reqbody_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_secrets
TESTS += tests/unit/test_secrets
tests_unit_test_secrets_SOURCES = tests/unit/test_secrets.c
tests_unit_test_secrets_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secrets_LDADD = $(UNIT_LDADD)
