#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "verdict.h"

bool verdict_user_may(const struct user *u, const struct stat *st, int what)
{
	mode_t bits = what == R_OK ? 04 : 01;

	if (u->uid == 0)
		return true; /* CAP_DAC_READ_SEARCH */
	if (st->st_uid == u->uid)
		return st->st_mode & (bits << 6);
	if (user_in_group(u, st->st_gid))
		return st->st_mode & (bits << 3);
	return st->st_mode & bits;
}

bool verdict_secure(const struct verdict_input *in, const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != in->user->uid)
		return false;
	if (st->st_mode & 002)
		return false;
	if (st->st_mode & 020)
		return in->flavor == FLAVOR_DEBIAN &&
		       userdb_is_private_group(in->db, st->st_gid, st->st_uid);
	return true;
}

static void refuse(struct verdict *v, const char *blamed, const char *fmt, const char *a,
		   const char *b, const char *c)
{
	v->accepts = false;
	snprintf(v->message, sizeof(v->message), fmt, a, b, c);
	snprintf(v->blamed, sizeof(v->blamed), "%s", blamed);
}

void verdict_keys_file(const struct verdict_input *in, const char *path, const struct chain *c,
		       struct verdict *v)
{
	const char *name = in->user->name;
	const struct chain_elem *last;

	*v = (struct verdict){.accepts = true};

	switch (c->status) {
	case CHAIN_MISSING:
		return; /* sshd skips a missing file silently */
	case CHAIN_NOTDIR:
		refuse(v, c->stopped_at, "Could not open user '%s' authorized keys '%s': %s", name,
		       path, "Not a directory");
		return;
	case CHAIN_LOOP:
	case CHAIN_ERROR:
		refuse(v, c->stopped_at, "Could not open user '%s' authorized keys '%s': %s", name,
		       path, strerror(c->error));
		return;
	case CHAIN_OK:
		break;
	}

	/* open(O_RDONLY|O_NONBLOCK) as the user */
	for (size_t i = 0; i < c->n_searched; i++)
		if (!verdict_user_may(in->user, &c->searched[i], X_OK)) {
			refuse(v, c->searched_paths[i],
			       "Could not open user '%s' authorized keys '%s': %s", name, path,
			       "Permission denied");
			return;
		}
	last = chain_last(c);
	if (S_ISSOCK(last->st.st_mode)) {
		refuse(v, last->path, "Could not open user '%s' authorized keys '%s': %s", name, path,
		       "No such device or address");
		return;
	}
	if (!verdict_user_may(in->user, &last->st, R_OK)) {
		refuse(v, last->path, "Could not open user '%s' authorized keys '%s': %s", name, path,
		       "Permission denied");
		return;
	}
	if (!S_ISREG(last->st.st_mode)) {
		refuse(v, last->path, "User %s authorized keys %s is not a regular file", name, path,
		       NULL);
		return;
	}
	if (!in->strict_modes)
		return;

	/* safe_path(): the file, then each directory of its realpath walking upwards. */
	if (!verdict_secure(in, &last->st)) {
		refuse(v, last->path, "Authentication refused: bad ownership or modes for file %s",
		       last->path, NULL, NULL);
		return;
	}
	for (size_t i = c->n_elems - 1; i-- > 0;) {
		const struct chain_elem *e = &c->elems[i];

		if (!verdict_secure(in, &e->st)) {
			refuse(v, e->path,
			       "Authentication refused: bad ownership or modes for directory %s",
			       e->path, NULL, NULL);
			return;
		}
		if (in->home_realpath && strcmp(in->home_realpath, e->path) == 0)
			return;
	}
}
