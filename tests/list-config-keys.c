/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include "config.h"

/* Print every configuration key the parser accepts, as "Section Key", for test-docs.sh. */
int main(void)
{
	const char *section, *key;

	for (size_t i = 0; config_key_at(i, &section, &key); i++)
		printf("%s %s\n", section, key);
	return 0;
}
