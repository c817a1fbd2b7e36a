/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key `sshmend why` is asked about: the public key of --key, read from a file or standard
 * input; a private key is refused, and nothing of it shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "escape.h"
#include "macro.h"
#include "safeio.h"
#include "why.h"

/* Is TEXT a private key (any format ssh-keygen or PuTTY writes)? Never shown. */
static bool looks_private(const char *text)
{
	return strstr(text, "PRIVATE KEY") || strstr(text, "PuTTY-User-Key-File") ||
	       strstr(text, "openssh-key-v1") || strstr(text, "Private-Lines:");
}

int why_read_key(const char *path, struct key_line *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	char why[512] = "";
	size_t len = 0;
	int r;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		escape_say("%s: %s", path, strerror(errno));
		return -errno;
	}
	r = safe_read_all(fd, WHY_KEY_MAX, &text, &len);
	if (r < 0) {
		escape_say("%s: %s", path,
			   r == -EFBIG ? "too large for a public key" : strerror(-r));
		return r;
	}
	if (looks_private(text)) {
		escape_say("%s: this is a private key; give its public key (the .pub file, or "
			   "ssh-keygen -y -f FILE); nothing of it is shown",
			   path);
		return -EINVAL;
	}
	for (size_t at = 0, lineno = 1; at < len; lineno++) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at;

		at += n + 1;
		r = key_parse_line(line, n, 0, ret, why, sizeof(why));
		if (r == 1)
			continue;
		if (r == 0 && ret->certificate)
			escape_say(
			    "%s:%zu: a certificate: sshd checks it against TrustedUserCAKeys, "
			    "which sshmend why does not evaluate; its plain key is judged",
			    path, lineno);
		if (r == 0)
			return 0;
		escape_say("%s:%zu: not a public key sshd takes: %s", path, lineno, why);
		return -EINVAL;
	}
	escape_say("%s: no public key in it", path);
	return -EINVAL;
}
