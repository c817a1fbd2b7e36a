/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include "base64.h"
#include "keys.h"
#include "macro.h"
#include "sha256.h"

/* sshd's limits (sshbuf.h, sshkey.h): mpints up to 16384 bits, 256 principals per certificate. */
#define MPINT_MAX_BYTES 2048
#define RSA_FLOOR_BITS 1024
#define CERT_MAX_PRINCIPALS 256
#define CERT_TYPE_USER 1
#define CERT_TYPE_HOST 2
#define TUNNEL_ID_MAX (INT_MAX - 2)
#define SHOWN_MAX 48

enum key_kind { KIND_ED25519, KIND_ED25519_SK, KIND_ECDSA, KIND_ECDSA_SK, KIND_RSA, KIND_DSA };

struct key_type {
	const char *name;
	/* The plain key it stands for: what the fingerprint is taken over. */
	const char *plain;
	/* A short name sshd also takes, in any case, as a plain blob's own type. */
	const char *blob_alias;
	enum key_kind kind;
	/* ECDSA: the curve. */
	int nid;
	bool cert;
	/* Read by sshd, refused by its default PubkeyAcceptedAlgorithms. */
	bool refused;
};

/*
 * sshd 9.x's key types (sshkey.c keyimpls[]), in its order: a type found by its short name is
 * the first entry with it. The rsa-sha2-* and webauthn names are signature algorithms that sshd
 * also takes as the type on a line. ssh-dss is still built into Debian 12's sshd 9.2 and parsed,
 * but it has been out of the default PubkeyAcceptedAlgorithms since OpenSSH 7.0 (and out of the
 * build since 10.0), so a DSA line never logs anyone in. ECDSA has no short name here: sshd
 * resolves "ECDSA" but then finds no curve for it and fails.
 */
static const struct key_type key_types[] = {
    {"ssh-ed25519", "ssh-ed25519", "ED25519", KIND_ED25519, 0, false, false},
    {"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", NULL, KIND_ED25519, 0, true, false},
    {"sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519@openssh.com", "ED25519-SK", KIND_ED25519_SK, 0,
     false, false},
    {"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", NULL, KIND_ED25519_SK, 0,
     true, false},
    {"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", NULL, KIND_ECDSA, NID_X9_62_prime256v1, false,
     false},
    {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", NULL, KIND_ECDSA,
     NID_X9_62_prime256v1, true, false},
    {"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", NULL, KIND_ECDSA, NID_secp384r1, false, false},
    {"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384", NULL, KIND_ECDSA,
     NID_secp384r1, true, false},
    {"ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", NULL, KIND_ECDSA, NID_secp521r1, false, false},
    {"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521", NULL, KIND_ECDSA,
     NID_secp521r1, true, false},
    {"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", NULL,
     KIND_ECDSA_SK, NID_X9_62_prime256v1, false, false},
    {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", NULL,
     KIND_ECDSA_SK, NID_X9_62_prime256v1, true, false},
    {"webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", NULL,
     KIND_ECDSA_SK, NID_X9_62_prime256v1, false, false},
    {"ssh-dss", "ssh-dss", "DSA", KIND_DSA, 0, false, true},
    {"ssh-dss-cert-v01@openssh.com", "ssh-dss", NULL, KIND_DSA, 0, true, true},
    {"ssh-rsa", "ssh-rsa", "RSA", KIND_RSA, 0, false, false},
    {"ssh-rsa-cert-v01@openssh.com", "ssh-rsa", NULL, KIND_RSA, 0, true, false},
    {"rsa-sha2-256", "ssh-rsa", "RSA", KIND_RSA, 0, false, false},
    {"rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa", NULL, KIND_RSA, 0, true, false},
    {"rsa-sha2-512", "ssh-rsa", "RSA", KIND_RSA, 0, false, false},
    {"rsa-sha2-512-cert-v01@openssh.com", "ssh-rsa", NULL, KIND_RSA, 0, true, false},
};

static const struct {
	const char *name;
	int nid;
	unsigned bits;
} curves[] = {
    {"nistp256", NID_X9_62_prime256v1, 256},
    {"nistp384", NID_secp384r1, 384},
    {"nistp521", NID_secp521r1, 521},
};

_printf_(4, 5) static int fail(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Text from the file goes into log lines: printable ASCII only, and not too much of it. */
static const char *shown(char *buf, size_t size, const void *text, size_t len)
{
	const unsigned char *s = text;
	size_t max = size - 4 < SHOWN_MAX ? size - 4 : SHOWN_MAX, i;

	for (i = 0; i < len && i < max; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (i < len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = 0;
	return buf;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const struct key_type *type_by_name(const char *s, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++)
		if (strlen(key_types[i].name) == len && memcmp(key_types[i].name, s, len) == 0)
			return &key_types[i];
	return NULL;
}

/* A blob names its own type; sshd (sshkey_type_from_name()) also takes the short names there. */
static const struct key_type *type_by_blob_name(const char *s, size_t len)
{
	const struct key_type *t = type_by_name(s, len);

	for (size_t i = 0; !t && i < ELEMENTSOF(key_types); i++) {
		const char *a = key_types[i].blob_alias;

		if (a && strlen(a) == len && strncasecmp(a, s, len) == 0)
			t = &key_types[i];
	}
	return t;
}

/* What sshd compares when the type on the line meets the type in the blob. */
static bool type_same(const struct key_type *a, const struct key_type *b)
{
	return a->kind == b->kind && a->cert == b->cert && a->nid == b->nid;
}

bool key_type_known(const char *type)
{
	const struct key_type *t = type ? type_by_name(type, strlen(type)) : NULL;

	return t && !t->refused;
}

/* Reading the SSH wire format (RFC 4251 section 5), with sshd's rules for each field. */
struct wire {
	const unsigned char *p;
	size_t left;
	char *why;
	size_t whylen;
};

static int wire_need(struct wire *w, size_t n)
{
	if (w->left < n)
		return fail(w->why, w->whylen, -EINVAL, "key blob is truncated");
	return 0;
}

static int wire_u32(struct wire *w, uint32_t *ret)
{
	int r = wire_need(w, 4);

	if (r < 0)
		return r;
	*ret = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 | (uint32_t)w->p[2] << 8 | w->p[3];
	w->p += 4;
	w->left -= 4;
	return 0;
}

static int wire_u64(struct wire *w)
{
	int r = wire_need(w, 8);

	if (r < 0)
		return r;
	w->p += 8;
	w->left -= 8;
	return 0;
}

static int wire_string(struct wire *w, const unsigned char **ret, size_t *len)
{
	uint32_t n;
	int r = wire_u32(w, &n);

	if (r < 0 || (r = wire_need(w, n)) < 0)
		return r;
	*ret = w->p;
	*len = n;
	w->p += n;
	w->left -= n;
	return 0;
}

/* A text field: sshd allows a NUL only as its last byte, and then drops it. */
static int wire_cstring(struct wire *w, const char *what, const char **ret, size_t *len)
{
	const unsigned char *s, *z;
	size_t n;
	int r = wire_string(w, &s, &n);

	if (r < 0)
		return r;
	z = memchr(s, 0, n);
	if (z && z != s + n - 1)
		return fail(w->why, w->whylen, -EINVAL, "NUL byte inside the %s in the key blob",
			    what);
	*ret = (const char *)s;
	*len = z ? n - 1 : n;
	return 0;
}

/* An mpint as sshd takes it: not negative, at most 16384 bits, leading zero bytes dropped. */
static int wire_mpint(struct wire *w, const unsigned char **ret, size_t *len)
{
	const unsigned char *d;
	size_t n;
	int r = wire_string(w, &d, &n);

	if (r < 0)
		return r;
	if (n > 0 && (d[0] & 0x80))
		return fail(w->why, w->whylen, -EINVAL, "negative number in key blob");
	if (n > MPINT_MAX_BYTES + 1 || (n == MPINT_MAX_BYTES + 1 && d[0] != 0))
		return fail(w->why, w->whylen, -EINVAL, "number in key blob longer than %d bits",
			    MPINT_MAX_BYTES * 8);
	while (n > 0 && d[0] == 0) {
		d++;
		n--;
	}
	*ret = d;
	*len = n;
	return 0;
}

static unsigned mpint_bits(const unsigned char *d, size_t n)
{
	unsigned bits = 0;

	if (n == 0)
		return 0;
	for (unsigned char c = d[0]; c; c >>= 1)
		bits++;
	return (unsigned)(n - 1) * 8 + bits;
}

/*
 * The plain key re-encoded as sshd encodes it before hashing (sshkey_fingerprint() serializes the
 * parsed key): the canonical type name, minimal mpints, text fields without a trailing NUL.
 * Nothing in it is longer than in the blob it comes from, apart from the type name.
 */
struct canon {
	unsigned char *p;
	size_t len, cap;
	bool overflow;
};

static void canon_put(struct canon *c, const void *data, size_t n)
{
	if (!c)
		return;
	if (c->cap - c->len < n) {
		c->overflow = true;
		return;
	}
	memcpy(c->p + c->len, data, n);
	c->len += n;
}

static void canon_string(struct canon *c, const void *data, size_t n)
{
	unsigned char be[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n};

	canon_put(c, be, 4);
	canon_put(c, data, n);
}

static void canon_mpint(struct canon *c, const unsigned char *d, size_t n)
{
	static const unsigned char zero;
	bool pad = n > 0 && (d[0] & 0x80);
	unsigned char be[4] = {(unsigned char)((n + pad) >> 24), (unsigned char)((n + pad) >> 16),
			       (unsigned char)((n + pad) >> 8), (unsigned char)(n + pad)};

	canon_put(c, be, 4);
	if (pad)
		canon_put(c, &zero, 1);
	canon_put(c, d, n);
}

/*
 * sshd's check of a public point (sshkey_ec_validate_public()): on the curve (EC_POINT_oct2point()
 * checks that), not at infinity, coordinates of more than half the order's bits and below
 * order - 1, and of the curve's prime order.
 */
static int ec_point_check(int nid, const unsigned char *p, size_t len)
{
	EC_GROUP *g = NULL;
	EC_POINT *q = NULL, *nq = NULL;
	BIGNUM *x = NULL, *y = NULL, *order = NULL, *limit = NULL;
	BN_CTX *ctx = NULL;
	int r = -ENOMEM;

	/* Uncompressed points only, as sshd. */
	if (len == 0 || p[0] != POINT_CONVERSION_UNCOMPRESSED)
		return -EINVAL;
	if (!(g = EC_GROUP_new_by_curve_name(nid)) || !(q = EC_POINT_new(g)) ||
	    !(nq = EC_POINT_new(g)) || !(ctx = BN_CTX_new()) || !(x = BN_new()) ||
	    !(y = BN_new()) || !(order = BN_new()) || !(limit = BN_new()))
		goto out;
	r = -EINVAL;
	if (EC_POINT_oct2point(g, q, p, len, ctx) != 1 || EC_POINT_is_at_infinity(g, q) ||
	    EC_GROUP_get_order(g, order, ctx) != 1 ||
	    EC_POINT_get_affine_coordinates(g, q, x, y, ctx) != 1)
		goto out;
	if (BN_num_bits(x) <= BN_num_bits(order) / 2 || BN_num_bits(y) <= BN_num_bits(order) / 2)
		goto out;
	if (EC_POINT_mul(g, nq, NULL, q, order, ctx) != 1 || EC_POINT_is_at_infinity(g, nq) != 1)
		goto out;
	if (!BN_sub(limit, order, BN_value_one()) || BN_cmp(x, limit) >= 0 || BN_cmp(y, limit) >= 0)
		goto out;
	r = 0;
out:
	/* Leave no libcrypto errors queued for whoever looks next. */
	ERR_clear_error();
	BN_free(limit);
	BN_free(order);
	BN_free(y);
	BN_free(x);
	BN_CTX_free(ctx);
	EC_POINT_free(nq);
	EC_POINT_free(q);
	EC_GROUP_free(g);
	return r;
}

/* The public key fields after the type (and, in a certificate, the nonce). */
static int key_fields_parse(struct wire *w, const struct key_type *t, struct canon *c,
			    unsigned *bits)
{
	const unsigned char *d, *mp[4];
	const char *s;
	size_t n, mplen[4], nmp = t->kind == KIND_RSA ? 2 : 4;
	char buf[SHOWN_MAX + 4];
	int r;

	switch (t->kind) {
	case KIND_ED25519:
	case KIND_ED25519_SK:
		if ((r = wire_string(w, &d, &n)) < 0)
			return r;
		if (n != 32)
			return fail(w->why, w->whylen, -EINVAL, "ed25519 key of %zu bytes, not 32",
				    n);
		canon_string(c, d, n);
		*bits = 256;
		break;
	case KIND_ECDSA:
	case KIND_ECDSA_SK: {
		size_t i;

		if ((r = wire_cstring(w, "curve name", &s, &n)) < 0)
			return r;
		for (i = 0; i < ELEMENTSOF(curves); i++)
			if (strlen(curves[i].name) == n && memcmp(curves[i].name, s, n) == 0)
				break;
		if (i == ELEMENTSOF(curves) || curves[i].nid != t->nid)
			return fail(w->why, w->whylen, -EINVAL, "curve %s does not match %s",
				    shown(buf, sizeof(buf), s, n), t->name);
		if ((r = wire_string(w, &d, &n)) < 0)
			return r;
		r = ec_point_check(t->nid, d, n);
		if (r == -EINVAL)
			return fail(w->why, w->whylen, r, "not a valid point on %s",
				    curves[i].name);
		if (r < 0)
			return fail(w->why, w->whylen, r, "out of memory");
		canon_string(c, curves[i].name, strlen(curves[i].name));
		canon_string(c, d, n);
		*bits = curves[i].bits;
		break;
	}
	case KIND_RSA:
	case KIND_DSA:
		/* RSA: e, n. DSA: p, q, g, y. */
		for (size_t i = 0; i < nmp; i++) {
			if ((r = wire_mpint(w, &mp[i], &mplen[i])) < 0)
				return r;
			canon_mpint(c, mp[i], mplen[i]);
		}
		*bits =
		    mpint_bits(mp[t->kind == KIND_RSA ? 1 : 0], mplen[t->kind == KIND_RSA ? 1 : 0]);
		break;
	}
	/* Security keys add the application they were made for ("ssh:..."). */
	if (t->kind == KIND_ED25519_SK || t->kind == KIND_ECDSA_SK) {
		if ((r = wire_cstring(w, "application", &s, &n)) < 0)
			return r;
		canon_string(c, s, n);
	}
	return 0;
}

static int blob_parse(const unsigned char *blob, size_t len, const struct key_type *want,
		      bool allow_cert, struct canon *c, const struct key_type **type,
		      unsigned *bits, char *why, size_t whylen);

/* A list of string pairs (critical options, extensions): sshd checks only the framing here. */
static int wire_pairs(struct wire *w)
{
	const unsigned char *d, *e;
	size_t n, m;
	struct wire in;
	int r = wire_string(w, &d, &n);

	if (r < 0)
		return r;
	in = (struct wire){d, n, w->why, w->whylen};
	while (r >= 0 && in.left > 0)
		if ((r = wire_string(&in, &e, &m)) >= 0)
			r = wire_string(&in, &e, &m);
	return r;
}

/*
 * The certificate body after the key (PROTOCOL.certkeys). sshd also verifies the CA's signature
 * at this point; we do not, because a certificate in authorized_keys never matches anything in
 * sshd whether its signature is good or not (see struct key_line).
 */
static int cert_parse(struct wire *w)
{
	const unsigned char *d, *ca, *sig;
	const char *s;
	size_t n, calen;
	uint32_t type;
	unsigned principals = 0, cabits;
	const struct key_type *cat;
	char reason[200];
	int r;

	if ((r = wire_u64(w)) < 0 || (r = wire_u32(w, &type)) < 0 ||
	    (r = wire_cstring(w, "key id", &s, &n)) < 0 || (r = wire_string(w, &d, &n)) < 0)
		return r;
	{
		struct wire p = {d, n, w->why, w->whylen};

		while (p.left > 0) {
			if (++principals > CERT_MAX_PRINCIPALS)
				return fail(w->why, w->whylen, -EINVAL,
					    "certificate with more than %d principals",
					    CERT_MAX_PRINCIPALS);
			if ((r = wire_cstring(&p, "principal", &s, &n)) < 0)
				return r;
		}
	}
	if ((r = wire_u64(w)) < 0 || (r = wire_u64(w)) < 0 || (r = wire_pairs(w)) < 0 ||
	    (r = wire_pairs(w)) < 0 || (r = wire_string(w, &d, &n)) < 0 ||
	    (r = wire_string(w, &ca, &calen)) < 0 || (r = wire_string(w, &sig, &n)) < 0)
		return r;
	if (type != CERT_TYPE_USER && type != CERT_TYPE_HOST)
		return fail(w->why, w->whylen, -EINVAL,
			    "certificate type %u is neither user nor host", type);
	r = blob_parse(ca, calen, NULL, false, NULL, &cat, &cabits, reason, sizeof(reason));
	if (r >= 0 && cat->kind == KIND_RSA && cabits < RSA_FLOOR_BITS)
		r = fail(reason, sizeof(reason), -EINVAL, "RSA key of %u bits", cabits);
	if (r < 0)
		return fail(w->why, w->whylen, r, "certificate CA key: %s", reason);
	return 0;
}

/*
 * Parse a key blob as sshd's sshkey_from_blob() does. WANT, when given, is the type named on the
 * line: the blob must be of that type. The plain key goes to C in canonical form.
 */
static int blob_parse(const unsigned char *blob, size_t len, const struct key_type *want,
		      bool allow_cert, struct canon *c, const struct key_type **type,
		      unsigned *bits, char *why, size_t whylen)
{
	struct wire w = {blob, len, why, whylen};
	const struct key_type *t;
	const unsigned char *d;
	const char *s;
	size_t n;
	char buf[SHOWN_MAX + 4];
	int r;

	if ((r = wire_cstring(&w, "key type", &s, &n)) < 0)
		return r;
	t = type_by_blob_name(s, n);
	if (!t)
		return fail(why, whylen, -EINVAL, "unknown key type in blob '%s'",
			    shown(buf, sizeof(buf), s, n));
	if (want && !type_same(t, want))
		return fail(why, whylen, -EINVAL, "key type in blob '%s' does not match '%s'",
			    shown(buf, sizeof(buf), s, n), want->name);
	if (t->cert && !allow_cert)
		return fail(why, whylen, -EINVAL, "a certificate where a plain key belongs");
	canon_string(c, t->plain, strlen(t->plain));
	/* Every certificate starts with a random nonce. */
	if (t->cert && (r = wire_string(&w, &d, &n)) < 0)
		return r;
	if ((r = key_fields_parse(&w, t, c, bits)) < 0)
		return r;
	if (t->cert && (r = cert_parse(&w)) < 0)
		return r;
	if (w.left > 0)
		return fail(why, whylen, -EINVAL, "trailing bytes after the key in the blob");
	if (c && c->overflow)
		return fail(why, whylen, -EIO, "key blob grew when made canonical");
	*type = t;
	return 0;
}

static void fingerprint_format(const unsigned char *data, size_t len, char out[64])
{
	uint8_t md[SHA256_LEN];
	char b64[BASE64_ENCODED_LEN(SHA256_LEN) + 1];
	size_t n;

	sha256(data, len, md);
	n = base64_encode(md, sizeof(md), b64);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, 64, "SHA256:%.*s", (int)n, b64);
}

/* Parse BLOB, fingerprint its plain key. */
static int blob_fingerprint(const unsigned char *blob, size_t len, const struct key_type *want,
			    const struct key_type **type, unsigned *bits, char out[64], char *why,
			    size_t whylen)
{
	_cleanup_free_ unsigned char *p = malloc(len + 64);
	struct canon c = {p, 0, len + 64, false};
	int r;

	if (!p)
		return fail(why, whylen, -ENOMEM, "out of memory");
	r = blob_parse(blob, len, want, true, &c, type, bits, why, whylen);
	if (r < 0)
		return r;
	fingerprint_format(c.p, c.len, out);
	return 0;
}

int key_fingerprint(const unsigned char *blob, size_t len, char out[64])
{
	const struct key_type *t;
	unsigned bits;
	int r;

	if (!blob)
		return -EINVAL;
	r = blob_fingerprint(blob, len, NULL, &t, &bits, out, NULL, 0);
	return r < 0 ? r : 0;
}

/* ASCII by hand: whatever locale the daemon runs in must not change what a key is. */
static bool ascii_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* isspace() in the C locale, which is what b64_pton() skips. */
static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * The blob as sshd decodes it (sshbuf_b64tod(), i.e. b64_pton()): white space anywhere is
 * skipped, the length must come out to whole groups of four, '=' only as one or two pads at the
 * end, and the bits a pad leaves over must be zero. The checks are made here first, so that
 * what is wrong can be said.
 */
static int b64_decode(const char *s, size_t len, unsigned char **ret, size_t *retlen, char *why,
		      size_t whylen)
{
	_cleanup_free_ char *clean = malloc(len + 1);
	_cleanup_free_ unsigned char *out = NULL;
	size_t n = 0, pad = 0;
	long r;

	if (!clean)
		return fail(why, whylen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++)
		if (!is_space(s[i]))
			clean[n++] = s[i];
	while (pad < n && clean[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		char c[SHOWN_MAX + 4];

		if (clean[i] == '=')
			return fail(why, whylen, -EINVAL, "base64 does not decode: '=' inside");
		if (base64_value(clean[i]) < 0)
			return fail(why, whylen, -EINVAL,
				    "base64 does not decode: invalid character '%s'",
				    shown(c, sizeof(c), &clean[i], 1));
	}
	if (n == 0 || pad > 2 || n % 4 != 0)
		return fail(why, whylen, -EINVAL, "base64 does not decode: %s",
			    pad > 0 ? "bad padding" : "truncated");
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return fail(why, whylen, -ENOMEM, "out of memory");
	r = base64_decode(clean, n, out);
	if (r < 0)
		return fail(why, whylen, -EINVAL,
			    "base64 does not decode: stray bits in the padding");
	*ret = TAKE_PTR(out);
	*retlen = (size_t)r;
	return 0;
}

/* Whether TOKEN is base64 of a key blob: a line that lost its key type. */
static bool token_is_blob(const char *token, size_t len)
{
	_cleanup_free_ unsigned char *blob = NULL;
	struct wire w;
	const char *s = NULL;
	size_t blen, n = 0;

	if (b64_decode(token, len, &blob, &blen, NULL, 0) < 0)
		return false;
	w = (struct wire){blob, blen, NULL, 0};
	return wire_cstring(&w, "key type", &s, &n) >= 0 && type_by_blob_name(s, n);
}

/* The value checks sshauthopt_parse() makes when it reads the line. */

/* strtonum() as sshd has it: all of S a decimal in [min, max]. */
static bool number_parse(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || *end || errno == ERANGE || n < min || n > max)
		return false;
	*ret = n;
	return true;
}

/*
 * The TCP services of the services database, names and aliases, read once: getservbyname()
 * reads the whole file for each name, and a line of a few KB naming a service over and over
 * cost 26 ms. Sorted by name; of two entries with the same name, the first in the file.
 */
struct service {
	char *name;
	long long port;
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

/* a2port(): a number, or a service name from /etc/services as sshd looks it up. */
static long long port_parse(const char *s)
{
	size_t lo = 0, hi;
	long long n;

	if (number_parse(s, 0, 65535, &n))
		return n;
	if (!services_read)
		services_load();
	/* The first entry of the name: the one getservbyname() finds. */
	for (hi = n_services; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(services[mid].name, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n_services && strcmp(services[lo].name, s) == 0 ? services[lo].port : -1;
}

/* YYYYMMDD[HHMM[SS]], local time unless it ends in Z or UTC (parse_absolute_time()). */
static bool expiry_valid(const char *v)
{
	size_t l = strlen(v);
	bool utc = false;
	char buf[32];
	const char *fmt, *end;
	struct tm tm = {0};
	time_t t;

	if (l > 1 && strcasecmp(v + l - 1, "Z") == 0) {
		utc = true;
		l--;
	} else if (l > 3 && strcasecmp(v + l - 3, "UTC") == 0) {
		utc = true;
		l -= 3;
	}
	/* strptime() wants something between conversions, so the fields get separators. */
	switch (l) {
	case 8:
		fmt = "%Y-%m-%d";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", v, v + 4, v + 6);
		break;
	case 12:
		fmt = "%Y-%m-%dT%H:%M";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s", v, v + 4, v + 6, v + 8,
			 v + 10);
		break;
	case 14:
		fmt = "%Y-%m-%dT%H:%M:%S";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", v, v + 4, v + 6, v + 8,
			 v + 10, v + 12);
		break;
	default:
		return false;
	}
	end = strptime(buf, fmt, &tm);
	if (!end || *end)
		return false;
	t = utc ? timegm(&tm) : mktime(&tm);
	return t > 0;
}

static bool environment_valid(const char *v)
{
	const char *eq = strchr(v, '=');

	if (!eq || eq == v)
		return false;
	for (const char *p = v; p < eq; p++)
		if (!ascii_alnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/* host:port, host/port or [v6]:port, as hpdelim2() splits it; permitlisten may be a bare port. */
static bool permit_valid(const char *v, bool bare_port)
{
	_cleanup_free_ char *s = NULL;
	char *host, *q;

	if (asprintf(&s, "%s%s", bare_port && !strchr(v, ':') ? "*:" : "", v) < 0) {
		s = NULL;
		return false;
	}
	host = s;
	if (*s == '[') {
		q = strchr(s, ']');
		if (!q)
			return false;
		q++;
	} else {
		q = strpbrk(s, ":/");
		if (!q)
			return false; /* no port */
	}
	if (*q != ':' && *q != '/')
		return false;
	*q++ = 0;
	if (strlen(host) >= NI_MAXHOST)
		return false;
	return strcmp(q, "*") == 0 || port_parse(q) > 0;
}

static bool permitopen_valid(const char *v)
{
	return permit_valid(v, false);
}

static bool permitlisten_valid(const char *v)
{
	return permit_valid(v, true);
}

static bool tunnel_valid(const char *v)
{
	long long n;

	return strcasecmp(v, "any") == 0 || number_parse(v, 0, TUNNEL_ID_MAX, &n);
}

enum option_kind { OPTION_FLAG, OPTION_NEGATABLE, OPTION_VALUE };

struct key_option {
	const char *name;
	enum option_kind kind;
	bool once; /* sshd refuses a second one */
	bool (*valid)(const char *value);
};

/*
 * sshd's options (sshauthopt_parse()), in the order it tries them. Names are matched ignoring
 * case, flags as a prefix of what follows; a value is always double-quoted. sshd caps
 * environment= at 1024 names and permitopen/permitlisten at 4096 each; sshmend does not, so
 * such a line counts as a key here: the side that never lets a key pass unseen.
 */
static const struct key_option key_options[] = {
    {"restrict", OPTION_FLAG, false, NULL},
    {"cert-authority", OPTION_FLAG, false, NULL},
    {"port-forwarding", OPTION_NEGATABLE, false, NULL},
    {"agent-forwarding", OPTION_NEGATABLE, false, NULL},
    {"x11-forwarding", OPTION_NEGATABLE, false, NULL},
    {"touch-required", OPTION_NEGATABLE, false, NULL},
    {"verify-required", OPTION_NEGATABLE, false, NULL},
    {"pty", OPTION_NEGATABLE, false, NULL},
    {"user-rc", OPTION_NEGATABLE, false, NULL},
    {"command", OPTION_VALUE, true, NULL},
    {"principals", OPTION_VALUE, true, NULL},
    {"from", OPTION_VALUE, true, NULL},
    {"expiry-time", OPTION_VALUE, false, expiry_valid},
    {"environment", OPTION_VALUE, false, environment_valid},
    {"permitopen", OPTION_VALUE, false, permitopen_valid},
    {"permitlisten", OPTION_VALUE, false, permitlisten_valid},
    {"tunnel", OPTION_VALUE, false, tunnel_valid},
};

/*
 * Where the options end (sshkey_advance_past_options()): at the first blank outside double
 * quotes; \" does not toggle quoting.
 */
static const char *options_end(const char *p, bool *unbalanced)
{
	bool quoted = false;

	for (; *p && (quoted || !is_blank(*p)); p++) {
		if (p[0] == '\\' && p[1] == '"')
			p++;
		else if (*p == '"')
			quoted = !quoted;
	}
	*unbalanced = quoted;
	return p;
}

static const struct key_option *option_match(const char **pp, const char *end)
{
	const char *p = *pp;

	for (size_t i = 0; i < ELEMENTSOF(key_options); i++) {
		const struct key_option *o = &key_options[i];
		size_t n = strlen(o->name);
		const char *q = p;

		if (o->kind == OPTION_VALUE) {
			if ((size_t)(end - q) > n && strncasecmp(q, o->name, n) == 0 &&
			    q[n] == '=') {
				*pp = q + n + 1;
				return o;
			}
			continue;
		}
		if (o->kind == OPTION_NEGATABLE && end - q >= 3 && strncasecmp(q, "no-", 3) == 0)
			q += 3;
		if ((size_t)(end - q) >= n && strncasecmp(q, o->name, n) == 0) {
			*pp = q + n;
			return o;
		}
	}
	return NULL;
}

/* The text between double quotes, with \" taken for a quote (opt_dequote()). */
static int option_value(const char **pp, const char *end, char **ret)
{
	const char *p = *pp;
	_cleanup_free_ char *v = malloc((size_t)(end - p) + 1);
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (p++; p < end && *p != '"'; p++) {
		if (p[0] == '\\' && p + 1 < end && p[1] == '"')
			p++;
		v[n++] = *p;
	}
	if (p == end)
		return -EINVAL;
	v[n] = 0;
	*pp = p + 1;
	*ret = TAKE_PTR(v);
	return 0;
}

/* How much of an unknown item to quote: its name, up to a value or the next item. */
static size_t option_name_len(const char *item, const char *end)
{
	size_t n = 0;

	while (item + n < end && !strchr(",=\"", item[n]))
		n++;
	return n;
}

/* What the options say that matters after parsing. */
struct options_seen {
	bool cert_authority;
	bool principals;
	/* -EKEYREJECTED when sshd reads the options but refuses the key whenever it matches. */
	int refused;
	char refusal[160];
};

/*
 * Whether a network in from= makes sshd's addr_match_list() fail: an address (as getaddrinfo()
 * reads it, so "10.1" is 10.0.0.1) with a mask too long for it or with bits set past the mask.
 * Anything else that is not an address is a host name pattern, and fine.
 */
static bool network_broken(const char *s)
{
	char addr[64], *slash, *end;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
	const unsigned char *a;
	unsigned long mask = ULONG_MAX, len;
	bool broken = false;

	if (strlen(s) >= sizeof(addr))
		return false;
	strcpy(addr, s);
	slash = strchr(addr, '/');
	if (slash) {
		*slash++ = 0;
		if (*slash < '0' || *slash > '9')
			return false;
		mask = strtoul(slash, &end, 10);
		if (*end || mask > 128)
			return false;
	}
	if (getaddrinfo(addr, NULL, &hints, &ai) != 0)
		return false;
	if (!ai->ai_addr) {
		freeaddrinfo(ai);
		return false;
	}
	if (ai->ai_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		len = 4;
	} else if (ai->ai_family == AF_INET6) {
		a = (const unsigned char *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		len = 16;
	} else {
		freeaddrinfo(ai);
		return false;
	}
	if (mask == ULONG_MAX)
		mask = len * 8;
	if (mask > len * 8)
		broken = true;
	for (unsigned long bit = mask; !broken && bit < len * 8; bit++)
		broken = a[bit / 8] & (0x80 >> (bit % 8));
	freeaddrinfo(ai);
	return broken;
}

/* from= parses whatever it holds; a bad entry makes sshd refuse every login with the key. */
static void from_check(const char *v, struct options_seen *seen)
{
	char buf[SHOWN_MAX + 4];

	for (const char *e = v;; e += strcspn(e, ",") + 1) {
		const char *entry = e + (*e == '!');
		size_t n = strcspn(entry, ",");
		_cleanup_free_ char *one = strndup(entry, n);

		if (!one) {
			seen->refused =
			    fail(seen->refusal, sizeof(seen->refusal), -ENOMEM, "out of memory");
			return;
		}
		if (n == 0) {
			seen->refused = fail(seen->refusal, sizeof(seen->refusal), -EKEYREJECTED,
					     "empty entry in from=, so sshd refuses the key");
			return;
		}
		if (network_broken(one)) {
			seen->refused =
			    fail(seen->refusal, sizeof(seen->refusal), -EKEYREJECTED,
				 "from= network '%s' is invalid, so sshd refuses the key",
				 shown(buf, sizeof(buf), one, n));
			return;
		}
		if (!entry[n])
			return;
	}
}

/*
 * Check the options in [P, END) as sshd would. A syntax error is returned at once; a refusal is
 * only noted in SEEN, because a syntax error elsewhere on the line makes sshd ignore it instead.
 */
static int options_parse(const char *p, const char *end, struct options_seen *seen, char *why,
			 size_t whylen)
{
	bool once[ELEMENTSOF(key_options)] = {false};
	char buf[SHOWN_MAX + 4];

	while (p < end) {
		const char *item = p;
		const struct key_option *o;
		size_t i;

		/* sshd steps over an empty item, so ",," and a leading ',' pass. */
		if (*p == ',') {
			p++;
			continue;
		}
		o = option_match(&p, end);
		if (!o)
			return fail(why, whylen, -EINVAL, "unknown option '%s'",
				    shown(buf, sizeof(buf), item, option_name_len(item, end)));
		i = (size_t)(o - key_options);
		if (o->once && once[i])
			return fail(why, whylen, -EINVAL, "option '%s' given twice", o->name);
		once[i] = true;
		if (o->kind == OPTION_VALUE) {
			_cleanup_free_ char *v = NULL;
			int r;

			if (*p != '"')
				return fail(why, whylen, -EINVAL,
					    "option '%s' needs a double-quoted value", o->name);
			r = option_value(&p, end, &v);
			if (r == -ENOMEM)
				return fail(why, whylen, r, "out of memory");
			if (r < 0)
				return fail(why, whylen, r, "unbalanced quote in options");
			if (o->valid && !o->valid(v))
				return fail(why, whylen, -EINVAL, "invalid %s \"%s\"", o->name,
					    shown(buf, sizeof(buf), v, strlen(v)));
			if (p < end && *p != ',')
				return fail(why, whylen, -EINVAL,
					    "unexpected text after option '%s'", o->name);
			if (strcmp(o->name, "from") == 0 && !seen->refused)
				from_check(v, seen);
			else if (strcmp(o->name, "principals") == 0)
				seen->principals = true;
		} else if (p < end && *p != ',') {
			/* A flag matched as a prefix of something longer. */
			return fail(why, whylen, -EINVAL, "unknown option '%s'",
				    shown(buf, sizeof(buf), item, option_name_len(item, end)));
		} else if (strcmp(o->name, "cert-authority") == 0) {
			seen->cert_authority = true;
		}
	}
	/* auth_authorise_keyopts(): principals= belongs to a CA; on a user's key it denies. */
	if (seen->principals && !seen->cert_authority && !seen->refused)
		seen->refused = fail(seen->refusal, sizeof(seen->refusal), -EKEYREJECTED,
				     "principals= without cert-authority, so sshd refuses the key");
	return 0;
}

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
	unsigned floor = min_rsa_bits > RSA_FLOOR_BITS ? min_rsa_bits : RSA_FLOOR_BITS;
	int r;

	b += strspn(b, " \t");
	if (!*b)
		return fail(why, whylen, -EINVAL, "no base64 blob after %s", t->name);
	blen = strcspn(b, " \t");
	r = b64_decode(b, blen, &k->blob, &k->blob_len, why, whylen);
	if (r < 0)
		return r;
	r = blob_fingerprint(k->blob, k->blob_len, t, &bt, &k->bits, k->fingerprint, why, whylen);
	if (r < 0)
		return r;
	if (t->refused)
		return fail(why, whylen, -EKEYREJECTED,
			    "%s keys are refused by sshd by default since OpenSSH 7.0", t->name);
	if (t->kind == KIND_RSA && k->bits < floor)
		return fail(why, whylen, -EKEYREJECTED,
			    "RSA key of %u bits is below the minimum of %u", k->bits, floor);
	k->type = strndup(p, tlen);
	if (!k->type)
		return fail(why, whylen, -ENOMEM, "out of memory");
	k->certificate = t->cert;

	p = b + blen;
	p += strspn(p, " \t");
	e = p + strlen(p);
	while (e > p && is_space(e[-1]))
		e--;
	if (e > p && !(k->comment = strndup(p, (size_t)(e - p))))
		return fail(why, whylen, -ENOMEM, "out of memory");
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
	char buf[SHOWN_MAX + 4];

	if (!type_name_shaped(t, n))
		return fail(why, whylen, -EINVAL,
			    "unknown key type (not shown: it may be private key material)");
	return fail(why, whylen, -EINVAL, "unknown key type '%s'", shown(buf, sizeof(buf), t, n));
}

/* Why a line without a recognisable key is not one, as helpfully as can be said. */
static int no_key(const char *first, const char *options_stop, const char *key, char *why,
		  size_t whylen)
{
	size_t flen = strcspn(first, " \t"), klen = strcspn(key, " \t");
	struct options_seen seen = {0};

	if ((klen > 0 && token_is_blob(key, klen)) || token_is_blob(first, flen))
		return fail(why, whylen, -EINVAL, "key type missing before the base64 blob");
	if (options_parse(first, options_stop, &seen, NULL, 0) == 0) {
		if (klen == 0)
			return fail(why, whylen, -EINVAL, "no key after the options");
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
		return fail(why, whylen, -EINVAL, "no line");
	/* sshd reads the line as a C string: it ends at the first NUL. */
	nul = len > 0 ? memchr(line, 0, len) : NULL;
	if (nul)
		len = (size_t)(nul - line);

	buf = strndup(line ? line : "", len);
	if (!buf)
		return fail(why, whylen, -ENOMEM, "out of memory");
	p = buf + strspn(buf, " \t");
	/* A lone CR (a blank line of a CRLF file) is no key for sshd either. */
	if (!*p || *p == '#' || strcmp(p, "\r") == 0)
		return 1;
	bad = misplaced_key(p);
	if (bad)
		return fail(why, whylen, -EINVAL, "%s", bad);

	/*
	 * sshd first reads a key from the start of the line, and only when that fails takes the
	 * first token for options. No option list can start with a key type name, so a known type
	 * first means there are no options.
	 */
	t = type_by_name(p, strcspn(p, " \t"));
	if (t) {
		r = key_read(p, t, min_rsa_bits, &k, why, whylen);
	} else {
		stop = options_end(p, &unbalanced);
		if (unbalanced)
			return fail(why, whylen, -EINVAL, "unbalanced quote in options");
		key = stop + strspn(stop, " \t");
		t = type_by_name(key, strcspn(key, " \t"));
		if (!t)
			return no_key(p, stop, key, why, whylen);
		r = options_parse(p, stop, &seen, why, whylen);
		if (r >= 0)
			r = key_read(key, t, min_rsa_bits, &k, why, whylen);
		if (r >= 0 && seen.refused)
			r = fail(why, whylen, seen.refused, "%s", seen.refusal);
		if (r >= 0 && !(k.options = strndup(p, (size_t)(stop - p))))
			r = fail(why, whylen, -ENOMEM, "out of memory");
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
		return fail(why, whylen, -E2BIG, "line longer than %d bytes", KEYS_MAX_LINE);
	if (len > 0 && memchr(line, 0, len))
		return fail(why, whylen, -EBADMSG, "NUL byte");
	if (!crlf && len > 0 && line[len - 1] == '\r')
		return fail(why, whylen, -EBADMSG, "CRLF line end");
	return 0;
}

bool keys_text_is_keys(const char *text, size_t len, const char *const *comments)
{
	size_t keys = 0;

	for (size_t at = 0; at < len;) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at, blank;
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
				known =
				    strlen(comments[c]) == n && memcmp(line, comments[c], n) == 0;
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
