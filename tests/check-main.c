#include <stdlib.h>
#include "check-main.h"

/* Run one suite and print TAP on stdout for automake's tap-driver. */
int main(void)
{
	SRunner *sr = srunner_create(test_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
