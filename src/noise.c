/* SPDX-License-Identifier: Apache-2.0 */
#include "noise.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "macro.h"
#include "sshdlog.h"

/* The login names cloud images create for their first user. */
static const char *const default_names[] = {
    "ubuntu",	  "ec2-user", "admin",	   "centos",	"fedora", "debian", "rocky",
    "cloud-user", "bitnami",  "azureuser", "almalinux", "opc",	  "core",   "alpine",
};

/* The causes a summary counts, each by its name. */
#define NOISE_CAUSES 24

struct seen {
	uint64_t hash; /* 0: free */
	uint64_t usec;
};

struct counted {
	char addr[SSHDLOG_ADDR_MAX]; /* "": free */
	unsigned long n;
};

struct noise {
	struct seen told[NOISE_SLOTS];	   /* name, address and cause: when last told */
	struct seen accepted[NOISE_SLOTS]; /* addresses that logged in */
	struct counted addrs[NOISE_SLOTS];
	size_t n_told, n_accepted, n_addrs;
	struct {
		const char *cause; /* a static string of the diagnosis */
		unsigned long n;
	} causes[NOISE_CAUSES];
	unsigned long total, other_addrs;
};

struct noise *noise_new(void)
{
	return calloc(1, sizeof(struct noise));
}

void noise_free(struct noise *n)
{
	free(n);
}

/* FNV-1a over each string and its NUL; never 0. */
static uint64_t hash3(const char *a, const char *b, const char *c)
{
	const char *parts[] = {a, b, c};
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		for (const char *p = parts[i] ? parts[i] : "";; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			if (!*p)
				break;
		}
	return h ? h : 1;
}

/* The slot of H in T: its own, or the free one where it goes. */
static struct seen *slot(struct seen *t, uint64_t h)
{
	size_t i = h % NOISE_SLOTS;

	while (t[i].hash && t[i].hash != h)
		i = (i + 1) % NOISE_SLOTS;
	return &t[i];
}

/* Keep T at most half full: forget what is older than REPEAT, or everything. */
static void make_room(struct seen *t, size_t *n, uint64_t now, uint64_t repeat)
{
	struct seen *old;
	size_t k = 0;

	if (*n < NOISE_SLOTS / 2)
		return;
	old = malloc(sizeof(struct seen) * NOISE_SLOTS);
	if (old)
		memcpy(old, t, sizeof(struct seen) * NOISE_SLOTS);
	memset(t, 0, sizeof(struct seen) * NOISE_SLOTS);
	for (size_t i = 0; old && i < NOISE_SLOTS; i++)
		if (old[i].hash && now - old[i].usec < repeat && k < NOISE_SLOTS / 4) {
			*slot(t, old[i].hash) = old[i];
			k++;
		}
	free(old);
	*n = k;
}

void noise_accepted(struct noise *n, const char *addr)
{
	uint64_t h = hash3(addr, NULL, NULL);
	struct seen *s;

	make_room(n->accepted, &n->n_accepted, 1, UINT64_MAX);
	s = slot(n->accepted, h);
	if (!s->hash)
		n->n_accepted++;
	*s = (struct seen){.hash = h, .usec = 0};
}

bool noise_default_name(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(default_names); i++)
		if (strcmp(default_names[i], name) == 0)
			return true;
	return false;
}

static void count(struct noise *n, const char *addr, const char *cause)
{
	size_t i;

	n->total++;
	for (i = 0; i < NOISE_CAUSES && n->causes[i].cause; i++)
		if (strcmp(n->causes[i].cause, cause) == 0)
			break;
	if (i < NOISE_CAUSES) {
		n->causes[i].cause = cause;
		n->causes[i].n++;
	}
	i = hash3(addr, NULL, NULL) % NOISE_SLOTS;
	while (n->addrs[i].addr[0] && strcmp(n->addrs[i].addr, addr) != 0)
		i = (i + 1) % NOISE_SLOTS;
	if (!n->addrs[i].addr[0]) {
		if (n->n_addrs >= NOISE_SLOTS / 2 || strlen(addr) >= sizeof(n->addrs[i].addr)) {
			n->other_addrs++;
			return;
		}
		strcpy(n->addrs[i].addr, addr);
		n->n_addrs++;
	}
	n->addrs[i].n++;
}

bool noise_judge(struct noise *n, const char *user, bool exists, const char *addr,
		 const char *cause, uint64_t now)
{
	bool own = exists || noise_default_name(user) ||
		   slot(n->accepted, hash3(addr, NULL, NULL))->hash != 0;

	if (!own) {
		count(n, addr, cause);
		return false;
	}
	make_room(n->told, &n->n_told, now, NOISE_REPEAT_USEC);
	uint64_t h = hash3(user, addr, cause);
	struct seen *s = slot(n->told, h);
	if (s->hash && now - s->usec < NOISE_REPEAT_USEC)
		return false;
	if (!s->hash)
		n->n_told++;
	*s = (struct seen){.hash = h, .usec = now};
	return true;
}

/* The index of the address counted most that is not in TAKEN[0..K). */
static size_t top_addr(const struct noise *n, const size_t *taken, size_t k)
{
	size_t best = NOISE_SLOTS;

	for (size_t i = 0; i < NOISE_SLOTS; i++) {
		bool used = false;
		for (size_t j = 0; j < k; j++)
			used |= taken[j] == i;
		if (n->addrs[i].addr[0] && !used &&
		    (best == NOISE_SLOTS || n->addrs[i].n > n->addrs[best].n))
			best = i;
	}
	return best;
}

bool noise_summary(struct noise *n, char *buf, size_t len, unsigned long *total)
{
	size_t taken[NOISE_TOP_ADDRS], k, off = 0;

	*total = n->total;
	if (!n->total)
		return false;
	buf[0] = '\0';
	for (size_t i = 0; i < NOISE_CAUSES && n->causes[i].cause && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s %lu", i ? ", " : "",
					n->causes[i].cause, n->causes[i].n);
	for (k = 0; k < NOISE_TOP_ADDRS; k++) {
		taken[k] = top_addr(n, taken, k);
		if (taken[k] == NOISE_SLOTS || off >= len)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%s %lu",
					k ? ", " : "; top addresses: ", n->addrs[taken[k]].addr,
					n->addrs[taken[k]].n);
	}
	memset(n->causes, 0, sizeof(n->causes));
	memset(n->addrs, 0, sizeof(n->addrs));
	n->n_addrs = 0;
	n->total = n->other_addrs = 0;
	return true;
}
