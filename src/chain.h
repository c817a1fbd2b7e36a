/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * The chain of one path: every directory from the root down to it, resolved one
 * component at a time on descriptors. Symlinks whose directory is root's and not
 * writable by group or others (an admin's /home -> /data/home) are followed. Any
 * other symlink is recorded as untrusted, and what lies beyond it is still resolved,
 * read-only and confined to the root, so that sshd's view can be judged; elements
 * reached that way are marked tainted and must never be changed.
 */

enum chain_status {
	CHAIN_OK,      /* the last element is the path itself */
	CHAIN_MISSING, /* a component does not exist */
	CHAIN_NOTDIR,  /* an element that must be a directory is not one */
	CHAIN_LOOP,    /* too many symlinks */
	CHAIN_ERROR,   /* another error, in error; EXDEV: a user's FUSE file system, not entered */
};

struct chain_elem {
	char *path; /* as seen inside the root, symlinks resolved */
	int fd;	    /* O_PATH, never a symlink */
	struct stat st;
	bool tainted;
	bool borrowed; /* fd belongs to the base chain it came from (the root: to the caller) */
};

struct chain_link {
	char *path; /* where the symlink stands, inside the root */
	struct stat st;
	struct stat dir_st; /* the directory holding it */
	int dir_fd;	    /* and its descriptor (O_PATH) */
	char *target;
	bool trusted;
	bool tainted; /* itself reached through an untrusted symlink */
};

struct chain {
	struct chain_elem *elems; /* "/" first; the realpath chain of what was reached */
	size_t n_elems;
	struct stat
	    *searched; /* every directory a name was looked up in (needs search permission) */
	char **searched_paths;
	size_t n_searched;
	struct chain_link *links;
	size_t n_links;
	/* The untainted elements walked before the first untrusted symlink, which may have
	 * left them behind (an absolute target, or ".."): still the user's chain to judge. */
	struct chain_elem *prefix;
	size_t n_prefix;
	enum chain_status status;
	int error;	  /* errno, for CHAIN_ERROR, CHAIN_LOOP and CHAIN_MISSING */
	char *stopped_at; /* the component path where the walk stopped, when not OK */
};

/*
 * Resolve PATH (absolute, inside the root open as ROOTFD). BASE, if not NULL, is a
 * chain resolved just before without symlinks: its deepest element that is a prefix of
 * PATH is reused rather than walked again. BASE and ROOTFD (the first element's
 * descriptor) must outlive the result.
 */
int chain_resolve(int rootfd, const char *path, const struct chain *base, struct chain *ret);
void chain_done(struct chain *c);

/*
 * Make C, cut to its first KEEP elements, the BASE of the next walk: it takes over the
 * descriptors it borrowed from BASE, the old BASE is released, and C is left empty.
 */
void chain_rebase(struct chain *base, struct chain *c, size_t keep);

/* The last element reached, or NULL. */
const struct chain_elem *chain_last(const struct chain *c);

/* Index of the element with the inode of ST, or -1. */
int chain_find(const struct chain *c, const struct stat *st);

/* Is a directory with this stat root's and not writable by group or others? */
bool chain_dir_is_root_only(const struct stat *st);
