/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "unit-helpers.h"
#include "watcher.h"

static char *root;
static struct watcher *w;
static unsigned touched[64];
static unsigned overflows;

static void on_touch(void *ud, size_t owner)
{
	(void)ud;
	if (owner < 64)
		touched[owner]++;
}

static void on_overflow(void *ud)
{
	(void)ud;
	overflows++;
}

static void setup(void)
{
	root = unit_tmproot();
	unit_write(root, "home/alice/.ssh/authorized_keys", "");
	unit_write(root, "home/bob/.ssh/authorized_keys", "");
	ck_assert_int_eq(watcher_new(&w), 0);
	memset(touched, 0, sizeof(touched));
	overflows = 0;
}

static void teardown(void)
{
	watcher_free(w);
	unit_rmtree(root);
	free(root);
}

static int open_dir(const char *rel)
{
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static void run(const char *cmd)
{
	char c[8400];

	snprintf(c, sizeof(c), "cd '%s' && %s", root, cmd);
	ck_assert_int_eq(system(c), 0);
}

static void dispatch(void)
{
	ck_assert_int_eq(watcher_dispatch(w, on_touch, on_overflow, NULL), 0);
}

START_TEST(shared_directory_watched_once)
{
	int home = open_dir("home"), a = open_dir("home/alice"), b = open_dir("home/bob");

	watcher_begin(w, 1);
	ck_assert_int_eq(watcher_add(w, home, "alice"), 0);
	ck_assert_int_eq(watcher_add(w, a, ".ssh"), 0);
	ck_assert_int_eq(watcher_commit(w), 0);
	watcher_begin(w, 2);
	ck_assert_int_eq(watcher_add(w, home, "bob"), 0);
	ck_assert_int_eq(watcher_add(w, b, ".ssh"), 0);
	ck_assert_int_eq(watcher_commit(w), 0);
	ck_assert_uint_eq(watcher_n_watches(w), 3); /* home, alice, bob */
	ck_assert_uint_eq(watcher_n_registrations(w), 4);

	run("chmod 777 home/alice/.ssh");
	dispatch();
	ck_assert_uint_ge(touched[1], 1);
	ck_assert_uint_eq(touched[2], 0);
	run("chmod 700 home/bob");
	dispatch();
	ck_assert_uint_ge(touched[2], 1);
	/* A name nobody registered touches nobody. */
	memset(touched, 0, sizeof(touched));
	run("touch home/alice/other");
	dispatch();
	ck_assert_uint_eq(touched[1] + touched[2], 0);
	close(home);
	close(a);
	close(b);
}
END_TEST

/* A walk that fails halfway: what it added goes, what the owner had committed stays. */
START_TEST(abort_takes_back_what_the_set_added)
{
	int home = open_dir("home"), a = open_dir("home/alice"), b = open_dir("home/bob");

	watcher_begin(w, 1);
	ck_assert_int_eq(watcher_add(w, home, "alice"), 0);
	ck_assert_int_eq(watcher_commit(w), 0);
	watcher_begin(w, 1);
	ck_assert_int_eq(watcher_add(w, home, "alice"), 0);
	ck_assert_int_eq(watcher_add(w, a, ".ssh"), 0);
	watcher_abort(w);
	ck_assert_uint_eq(watcher_n_watches(w), 1);
	ck_assert_uint_eq(watcher_n_registrations(w), 1);
	run("chmod 777 home/alice/.ssh");
	dispatch();
	ck_assert_uint_eq(touched[1], 0);
	run("chmod 700 home/alice");
	dispatch();
	ck_assert_uint_ge(touched[1], 1);
	/* An owner far above any committed one, whose first walk fails, leaves nothing
	 * behind: no registration names it when the directory later goes. */
	watcher_begin(w, 40);
	ck_assert_int_eq(watcher_add(w, home, "bob"), 0);
	ck_assert_int_eq(watcher_add(w, b, ".ssh"), 0);
	watcher_abort(w);
	ck_assert_uint_eq(watcher_n_watches(w), 1);
	ck_assert_uint_eq(watcher_n_registrations(w), 1);
	memset(touched, 0, sizeof(touched));
	run("rm -rf home/bob");
	dispatch();
	ck_assert_uint_eq(touched[40], 0);
	close(home);
	close(a);
	close(b);
}
END_TEST

START_TEST(commit_replaces_and_forget_drops)
{
	int home = open_dir("home"), a = open_dir("home/alice");

	watcher_begin(w, 1);
	watcher_add(w, home, "alice");
	watcher_add(w, a, ".ssh");
	watcher_commit(w);
	ck_assert_uint_eq(watcher_n_watches(w), 2);
	/* The new set no longer names alice's home: its watch goes. */
	watcher_begin(w, 1);
	watcher_add(w, home, "alice");
	watcher_commit(w);
	ck_assert_uint_eq(watcher_n_watches(w), 1);
	ck_assert_uint_eq(watcher_n_registrations(w), 1);
	run("chmod 777 home/alice/.ssh");
	dispatch();
	ck_assert_uint_eq(touched[1], 0);
	watcher_forget(w, 1);
	ck_assert_uint_eq(watcher_n_watches(w), 0);
	close(home);
	close(a);
}
END_TEST

START_TEST(remap_keeps_watches_under_new_numbers)
{
	int home = open_dir("home"), a = open_dir("home/alice"), b = open_dir("home/bob");
	size_t map[] = {0, 3, WATCHER_NO_OWNER, WATCHER_NO_OWNER};

	/* alice is owner 1, bob 2, and 3 a user whose walk failed before its commit. */
	watcher_begin(w, 1);
	watcher_add(w, home, "alice");
	watcher_add(w, a, ".ssh");
	watcher_commit(w);
	watcher_begin(w, 2);
	watcher_add(w, home, "bob");
	watcher_add(w, b, ".ssh");
	watcher_commit(w);
	watcher_begin(w, 3);
	watcher_add(w, b, ".ssh");
	ck_assert_uint_eq(watcher_n_watches(w), 3);
	/* alice becomes 3; bob goes, and 3 (never committed) with him: bob's watch goes. */
	ck_assert_int_eq(watcher_remap(w, map, 4), 0);
	ck_assert_uint_eq(watcher_n_watches(w), 2);
	ck_assert_uint_eq(watcher_n_registrations(w), 2);
	run("chmod 777 home/alice/.ssh home/bob/.ssh");
	dispatch();
	ck_assert_uint_eq(touched[3], 1);
	ck_assert_uint_eq(touched[1], 0);
	ck_assert_uint_eq(touched[2], 0);
	/* The new number's next set replaces what the old one had. */
	watcher_begin(w, 3);
	watcher_add(w, home, "alice");
	watcher_commit(w);
	ck_assert_uint_eq(watcher_n_watches(w), 1);
	watcher_forget(w, 3);
	ck_assert_uint_eq(watcher_n_watches(w), 0);
	close(home);
	close(a);
	close(b);
}
END_TEST

START_TEST(removed_directory_touches_owner)
{
	int s = open_dir("home/alice/.ssh");

	watcher_begin(w, 3);
	watcher_add(w, s, "authorized_keys");
	watcher_commit(w);
	close(s);
	run("rm -rf home/alice/.ssh");
	dispatch();
	ck_assert_uint_ge(touched[3], 1);
	/* The kernel dropped the watch; so did we. */
	ck_assert_uint_eq(watcher_n_watches(w), 0);
	ck_assert_uint_eq(watcher_n_registrations(w), 0);
}
END_TEST

START_TEST(any_name)
{
	int home = open_dir("home");

	watcher_begin(w, 4);
	watcher_add(w, home, WATCHER_ANY_NAME);
	watcher_commit(w);
	run("mkdir home/carol");
	dispatch();
	ck_assert_uint_ge(touched[4], 1);
	close(home);
}
END_TEST

static unsigned many[3001];

static void on_touch_many(void *ud, size_t owner)
{
	(void)ud;
	if (owner < 3001)
		many[owner]++;
}

START_TEST(many_owners_share_one_registration)
{
	int home = open_dir("home");
	char name[32];

	memset(many, 0, sizeof(many));
	/* Three thousand owners share "home" itself, each with a name of its own: the tables
	 * grow past their first size. */
	for (size_t o = 1; o <= 3000; o++) {
		watcher_begin(w, o);
		ck_assert_int_eq(watcher_add(w, home, ""), 0);
		snprintf(name, sizeof(name), "u%zu", o);
		ck_assert_int_eq(watcher_add(w, home, name), 0);
		ck_assert_int_eq(watcher_commit(w), 0);
	}
	/* Owner 5 registers the same again, twice over: it is still one owner, once. */
	watcher_begin(w, 5);
	ck_assert_int_eq(watcher_add(w, home, ""), 0);
	ck_assert_int_eq(watcher_add(w, home, ""), 0);
	ck_assert_int_eq(watcher_add(w, home, "u5"), 0);
	ck_assert_int_eq(watcher_commit(w), 0);
	ck_assert_uint_eq(watcher_n_watches(w), 1);
	ck_assert_uint_eq(watcher_n_registrations(w), 3001);
	run("chmod 711 home");
	ck_assert_int_eq(watcher_dispatch(w, on_touch_many, on_overflow, NULL), 0);
	for (size_t o = 1; o <= 3000; o++)
		ck_assert_uint_eq(many[o], 1);
	run("touch home/u2999");
	ck_assert_int_eq(watcher_dispatch(w, on_touch_many, on_overflow, NULL), 0);
	ck_assert_uint_ge(many[2999], 2);
	ck_assert_uint_eq(many[2998], 1);
	/* Forgotten, owner 5 is no longer told; the others still are. */
	watcher_forget(w, 5);
	ck_assert_uint_eq(watcher_n_registrations(w), 3000);
	run("chmod 755 home");
	ck_assert_int_eq(watcher_dispatch(w, on_touch_many, on_overflow, NULL), 0);
	ck_assert_uint_eq(many[5], 1);
	ck_assert_uint_eq(many[6], 2);
	close(home);
}
END_TEST

/* One event of BUF at *AT: the header, then NAME padded with NULs to PADDED bytes. */
static size_t put_event(char *buf, size_t at, int wd, uint32_t mask, const char *name,
			size_t padded)
{
	struct inotify_event ev = {.wd = wd, .mask = mask, .len = (uint32_t)padded};

	memcpy(buf + at, &ev, sizeof(ev));
	memset(buf + at + sizeof(ev), 0, padded);
	memcpy(buf + at + sizeof(ev), name, strlen(name));
	return at + sizeof(ev) + padded;
}

/* A buffer no kernel writes is walked no further than it is whole, at any alignment. */
START_TEST(event_buffer_walk_stays_inside)
{
	char mem[256], *buf = mem + 1;
	struct inotify_event ev;
	const char *name;
	size_t n, off = 0;

	n = put_event(buf, 0, 1, IN_ATTRIB, "", 0);
	n = put_event(buf, n, 2, IN_CREATE, "authorized_keys", 16);
	ck_assert_int_eq(watcher_next_event(buf, n, &off, &ev, &name), 1);
	ck_assert_int_eq(ev.wd, 1);
	ck_assert_str_eq(name, "");
	ck_assert_int_eq(watcher_next_event(buf, n, &off, &ev, &name), 1);
	ck_assert_str_eq(name, "authorized_keys");
	ck_assert_uint_eq(off, n);
	ck_assert_int_eq(watcher_next_event(buf, n, &off, &ev, &name), 0);
	/* A header cut short, a name past the end, a name without its NUL. */
	off = 0;
	ck_assert_int_eq(watcher_next_event(buf, sizeof(ev) - 1, &off, &ev, &name), -EBADMSG);
	off = sizeof(ev);
	ck_assert_int_eq(watcher_next_event(buf, n - 1, &off, &ev, &name), -EBADMSG);
	n = put_event(buf, 0, 2, IN_CREATE, "0123456789abcdef", 16);
	off = 0;
	ck_assert_int_eq(watcher_next_event(buf, n, &off, &ev, &name), -EBADMSG);
	ck_assert_uint_eq(off, 0);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("watcher");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, shared_directory_watched_once);
	tcase_add_test(tc, abort_takes_back_what_the_set_added);
	tcase_add_test(tc, commit_replaces_and_forget_drops);
	tcase_add_test(tc, remap_keeps_watches_under_new_numbers);
	tcase_add_test(tc, removed_directory_touches_owner);
	tcase_add_test(tc, any_name);
	tcase_add_test(tc, many_owners_share_one_registration);
	tcase_add_test(tc, event_buffer_walk_stays_inside);
	suite_add_tcase(s, tc);
	return s;
}
