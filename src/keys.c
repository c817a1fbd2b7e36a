/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keyblob.h"
#include "keyopts.h"
#include "keys.h"
#include "keytext.h"
#include "macro.h"

/* Lines that are some other kind of key file pasted in. */
static const char *misplaced_key(const char *p)
{
	if (strncmp(p, "-----BEGIN", 10) == 0 || strncmp(p, "-----END", 8) == 0) {
		if (strstr(p, "PRIVATE KEY"))
			return "private key, not a public key";
		if (strstr(p, "PUBLIC KEY"))
			return "PEM public key, not in authorized_keys format (see ssh-keygen -i)";
		return "PEM block, not a key line";
	}
	/* The base64 of "openssh-key-v1", which starts the body of an OpenSSH private key. */
	if (strncmp(p, "b3BlbnNzaC1rZXktdjE", 19) == 0)
		return "private key, not a public key";
	if (strncmp(p, "PuTTY-User-Key-File-", 20) == 0)
		return "PuTTY private key, not a public key";
	if (strncmp(p, "---- BEGIN SSH2 PUBLIC KEY", 26) == 0)
		return "RFC 4716 public key, not in authorized_keys format (see ssh-keygen -i)";
	return NULL;
}

/* The key at P, whose first token names type T: sshkey_read(). */
static int key_read(const char *p, const struct key_type *t, unsigned min_rsa_bits,
		    struct key_line *k, char *why, size_t whylen)
{
	size_t tlen = strcspn(p, " \t"), blen;
	const char *b = p + tlen, *e;
	const struct key_type *bt;
	unsigned floor = min_rsa_bits > KEY_RSA_MIN_BITS ? min_rsa_bits : KEY_RSA_MIN_BITS;
	int r;

	b += strspn(b, " \t");
	if (!*b)
		return key_fail(why, whylen, -EINVAL, "no base64 blob after %s", t->name);
	blen = strcspn(b, " \t");
	r = keyblob_decode(b, blen, &k->blob, &k->blob_len, why, whylen);
	if (r < 0)
		return r;
	r = keyblob_fingerprint(k->blob, k->blob_len, t, &bt, &k->bits, k->fingerprint, why,
				whylen);
	if (r < 0)
		return r;
	if (t->refused)
		return key_fail(why, whylen, -EKEYREJECTED,
				"%s keys are refused by sshd by default since OpenSSH 7.0",
				t->name);
	if (t->kind == KIND_RSA && k->bits < floor)
		return key_fail(why, whylen, -EKEYREJECTED,
				"RSA key of %u bits is below the minimum of %u", k->bits, floor);
	k->type = strndup(p, tlen);
	if (!k->type)
		return key_fail(why, whylen, -ENOMEM, "out of memory");
	k->certificate = t->cert;

	p = b + blen;
	p += strspn(p, " \t");
	e = p + strlen(p);
	while (e > p && key_is_space(e[-1]))
		e--;
	if (e > p && !(k->comment = strndup(p, (size_t)(e - p))))
		return key_fail(why, whylen, -ENOMEM, "out of memory");
	return 0;
}

/*
 * Quote a token only when it has the shape of a key type name (lowercase, digits, '-',
 * '.', '@'): anything else may be a line of a private key pasted by mistake, and a
 * private key must never reach a log.
 */
static bool type_name_shaped(const char *t, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '-' ||
		      t[i] == '.' || t[i] == '@'))
			return false;
	return true;
}

static int unknown_type(const char *t, size_t n, char *why, size_t whylen)
{
	char buf[KEY_SHOWN_MAX + 4];

	if (!type_name_shaped(t, n))
		return key_fail(why, whylen, -EINVAL,
				"unknown key type (not shown: it may be private key material)");
	return key_fail(why, whylen, -EINVAL, "unknown key type '%s'",
			key_shown(buf, sizeof(buf), t, n));
}

/* Why a line without a recognisable key is not one, as helpfully as can be said. */
static int no_key(const char *first, const char *options_stop, const char *key, char *why,
		  size_t whylen)
{
	size_t flen = strcspn(first, " \t"), klen = strcspn(key, " \t");
	struct options_seen seen = {0};

	if ((klen > 0 && keyblob_is_blob(key, klen)) || keyblob_is_blob(first, flen))
		return key_fail(why, whylen, -EINVAL, "key type missing before the base64 blob");
	if (keyopts_parse(first, options_stop, &seen, NULL, 0) == 0) {
		if (klen == 0)
			return key_fail(why, whylen, -EINVAL, "no key after the options");
		return unknown_type(key, klen, why, whylen);
	}
	return unknown_type(first, flen, why, whylen);
}

int key_parse_line(const char *line, size_t len, unsigned min_rsa_bits, struct key_line *ret,
		   char *why, size_t whylen)
{
	_cleanup_free_ char *buf = NULL;
	struct key_line k = {0};
	struct options_seen seen = {0};
	const struct key_type *t;
	const char *p, *stop, *key, *bad, *nul;
	bool unbalanced;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (why && whylen > 0)
		*why = 0;
	if (!line && len > 0)
		return key_fail(why, whylen, -EINVAL, "no line");
	/* sshd reads the line as a C string: it ends at the first NUL. */
	nul = len > 0 ? memchr(line, 0, len) : NULL;
	if (nul)
		len = (size_t)(nul - line);

	buf = strndup(line ? line : "", len);
	if (!buf)
		return key_fail(why, whylen, -ENOMEM, "out of memory");
	p = buf + strspn(buf, " \t");
	/* A lone CR (a blank line of a CRLF file) is no key for sshd either. */
	if (!*p || *p == '#' || strcmp(p, "\r") == 0)
		return 1;
	bad = misplaced_key(p);
	if (bad)
		return key_fail(why, whylen, -EINVAL, "%s", bad);

	/*
	 * sshd first reads a key from the start of the line, and only when that fails takes the
	 * first token for options. No option list can start with a key type name, so a known type
	 * first means there are no options.
	 */
	t = keyblob_type(p, strcspn(p, " \t"));
	if (t) {
		r = key_read(p, t, min_rsa_bits, &k, why, whylen);
	} else {
		stop = keyopts_end(p, &unbalanced);
		if (unbalanced)
			return key_fail(why, whylen, -EINVAL, "unbalanced quote in options");
		key = stop + strspn(stop, " \t");
		t = keyblob_type(key, strcspn(key, " \t"));
		if (!t)
			return no_key(p, stop, key, why, whylen);
		r = keyopts_parse(p, stop, &seen, why, whylen);
		if (r >= 0)
			r = key_read(key, t, min_rsa_bits, &k, why, whylen);
		if (r >= 0 && seen.refused)
			r = key_fail(why, whylen, seen.refused, "%s", seen.refusal);
		if (r >= 0 && !(k.options = strndup(p, (size_t)(stop - p))))
			r = key_fail(why, whylen, -ENOMEM, "out of memory");
		k.cert_authority = seen.cert_authority;
	}
	if (r < 0) {
		key_line_done(&k);
		return r;
	}
	*ret = k;
	return 0;
}

void key_line_done(struct key_line *k)
{
	if (!k)
		return;
	free(k->options);
	free(k->type);
	free(k->blob);
	free(k->comment);
	memset(k, 0, sizeof(*k));
}

int key_line_check(const char *line, size_t len, bool crlf, char *why, size_t whylen)
{
	if (len > KEYS_MAX_LINE)
		return key_fail(why, whylen, -E2BIG, "line longer than %d bytes", KEYS_MAX_LINE);
	if (len > 0 && memchr(line, 0, len))
		return key_fail(why, whylen, -EBADMSG, "NUL byte");
	if (!crlf && len > 0 && line[len - 1] == '\r')
		return key_fail(why, whylen, -EBADMSG, "CRLF line end");
	return 0;
}

bool keys_line_is(const char *p, size_t len, const char *text)
{
	size_t m = strlen(text);

	if (len && p[len - 1] == '\r')
		len--;
	return len == m && memcmp(p, text, m) == 0;
}

bool keys_text_is_keys(const char *text, size_t len, const char *const *comments)
{
	size_t keys = 0;

	for (size_t at = 0; at < len;) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at, raw = n, blank;
		struct key_line k;
		bool known = false;
		int r;

		at += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--; /* a CRLF file is still a keys file */
		for (blank = 0; blank < n && (line[blank] == ' ' || line[blank] == '\t'); blank++)
			; /* TEXT need not end with a NUL */
		if (blank < n && line[blank] == '#') {
			/* Free text could be anything: only the comments named may stand. */
			for (size_t c = 0; comments && comments[c] && !known; c++)
				known = keys_line_is(line, raw, comments[c]);
			if (!known)
				return false;
			continue;
		}
		if (key_line_check(line, n, false, NULL, 0) < 0)
			return false;
		r = key_parse_line(line, n, 0, &k, NULL, 0);
		key_line_done(&k);
		if (r == 0 || r == -EKEYREJECTED)
			keys++;
		else if (r != 1)
			return false;
	}
	return keys > 0;
}
