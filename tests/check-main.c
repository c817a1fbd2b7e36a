/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include "check-main.h"

/* Run one suite and print TAP on stdout for automake's tap-driver. */
int main(void)
{
	SRunner *sr = srunner_create(test_suite());

	/* Failures are "not ok" lines; the exit status is kept for crashes. */
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	srunner_free(sr);
	return EXIT_SUCCESS;
}
