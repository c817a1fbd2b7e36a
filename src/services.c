/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "macro.h"
#include "services.h"

/* Names and aliases, sorted by name; of two entries of one name, the first in the file. */
struct service {
	char *name;
	int port;
	size_t order;
};
static struct service *services;
static size_t n_services;
static bool services_read;

static int service_cmp(const void *a, const void *b)
{
	const struct service *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static void services_add(const char *name, int port)
{
	if (array_room(&services, n_services, sizeof(*services)) < 0)
		return;
	services[n_services].name = strdup(name);
	if (!services[n_services].name)
		return;
	services[n_services].port = ntohs((uint16_t)port);
	services[n_services].order = n_services;
	n_services++;
}

static void services_load(void)
{
	struct servent *se;

	services_read = true;
	setservent(1);
	while ((se = getservent()))
		if (strcmp(se->s_proto, "tcp") == 0) {
			services_add(se->s_name, se->s_port);
			for (char **a = se->s_aliases; a && *a; a++)
				services_add(*a, se->s_port);
		}
	endservent();
	if (services)
		qsort(services, n_services, sizeof(*services), service_cmp);
}

int service_tcp_port(const char *name)
{
	size_t lo = 0, hi;

	if (!services_read)
		services_load();
	/* The first entry of the name: the one getservbyname() finds. */
	for (hi = n_services; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(services[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n_services && strcmp(services[lo].name, name) == 0 ? services[lo].port : -1;
}
