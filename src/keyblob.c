/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include "base64.h"
#include "keyblob.h"
#include "keys.h"
#include "keytext.h"
#include "macro.h"
#include "sha256.h"

/* sshd's limits (sshbuf.h, sshkey.h): mpints up to 16384 bits, 256 principals per certificate. */
#define MPINT_MAX_BYTES 2048
#define CERT_MAX_PRINCIPALS 256
#define CERT_TYPE_USER 1
#define CERT_TYPE_HOST 2

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

const struct key_type *keyblob_type(const char *s, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++)
		if (strlen(key_types[i].name) == len && memcmp(key_types[i].name, s, len) == 0)
			return &key_types[i];
	return NULL;
}

/* A blob names its own type; sshd (sshkey_type_from_name()) also takes the short names there. */
static const struct key_type *type_by_blob_name(const char *s, size_t len)
{
	const struct key_type *t = keyblob_type(s, len);

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
	const struct key_type *t = type ? keyblob_type(type, strlen(type)) : NULL;

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
		return key_fail(w->why, w->whylen, -EINVAL, "key blob is truncated");
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
		return key_fail(w->why, w->whylen, -EINVAL,
				"NUL byte inside the %s in the key blob", what);
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
		return key_fail(w->why, w->whylen, -EINVAL, "negative number in key blob");
	if (n > MPINT_MAX_BYTES + 1 || (n == MPINT_MAX_BYTES + 1 && d[0] != 0))
		return key_fail(w->why, w->whylen, -EINVAL,
				"number in key blob longer than %d bits", MPINT_MAX_BYTES * 8);
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
	char buf[KEY_SHOWN_MAX + 4];
	int r;

	switch (t->kind) {
	case KIND_ED25519:
	case KIND_ED25519_SK:
		if ((r = wire_string(w, &d, &n)) < 0)
			return r;
		if (n != 32)
			return key_fail(w->why, w->whylen, -EINVAL,
					"ed25519 key of %zu bytes, not 32", n);
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
			return key_fail(w->why, w->whylen, -EINVAL, "curve %s does not match %s",
					key_shown(buf, sizeof(buf), s, n), t->name);
		if ((r = wire_string(w, &d, &n)) < 0)
			return r;
		r = ec_point_check(t->nid, d, n);
		if (r == -EINVAL)
			return key_fail(w->why, w->whylen, r, "not a valid point on %s",
					curves[i].name);
		if (r < 0)
			return key_fail(w->why, w->whylen, r, "out of memory");
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
				return key_fail(w->why, w->whylen, -EINVAL,
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
		return key_fail(w->why, w->whylen, -EINVAL,
				"certificate type %u is neither user nor host", type);
	r = blob_parse(ca, calen, NULL, false, NULL, &cat, &cabits, reason, sizeof(reason));
	if (r >= 0 && cat->kind == KIND_RSA && cabits < KEY_RSA_MIN_BITS)
		r = key_fail(reason, sizeof(reason), -EINVAL, "RSA key of %u bits", cabits);
	if (r < 0)
		return key_fail(w->why, w->whylen, r, "certificate CA key: %s", reason);
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
	char buf[KEY_SHOWN_MAX + 4];
	int r;

	if ((r = wire_cstring(&w, "key type", &s, &n)) < 0)
		return r;
	t = type_by_blob_name(s, n);
	if (!t)
		return key_fail(why, whylen, -EINVAL, "unknown key type in blob '%s'",
				key_shown(buf, sizeof(buf), s, n));
	if (want && !type_same(t, want))
		return key_fail(why, whylen, -EINVAL, "key type in blob '%s' does not match '%s'",
				key_shown(buf, sizeof(buf), s, n), want->name);
	if (t->cert && !allow_cert)
		return key_fail(why, whylen, -EINVAL, "a certificate where a plain key belongs");
	canon_string(c, t->plain, strlen(t->plain));
	/* Every certificate starts with a random nonce. */
	if (t->cert && (r = wire_string(&w, &d, &n)) < 0)
		return r;
	if ((r = key_fields_parse(&w, t, c, bits)) < 0)
		return r;
	if (t->cert && (r = cert_parse(&w)) < 0)
		return r;
	if (w.left > 0)
		return key_fail(why, whylen, -EINVAL, "trailing bytes after the key in the blob");
	if (c && c->overflow)
		return key_fail(why, whylen, -EIO, "key blob grew when made canonical");
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

int keyblob_fingerprint(const unsigned char *blob, size_t len, const struct key_type *want,
			const struct key_type **type, unsigned *bits, char out[64], char *why,
			size_t whylen)
{
	_cleanup_free_ unsigned char *p = malloc(len + 64);
	struct canon c = {p, 0, len + 64, false};
	int r;

	if (!p)
		return key_fail(why, whylen, -ENOMEM, "out of memory");
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
	r = keyblob_fingerprint(blob, len, NULL, &t, &bits, out, NULL, 0);
	return r < 0 ? r : 0;
}

/*
 * The blob as sshd decodes it (sshbuf_b64tod(), i.e. b64_pton()): white space anywhere is
 * skipped, the length must come out to whole groups of four, '=' only as one or two pads at the
 * end, and the bits a pad leaves over must be zero. The checks are made here first, so that
 * what is wrong can be said.
 */
int keyblob_decode(const char *s, size_t len, unsigned char **ret, size_t *retlen, char *why,
		   size_t whylen)
{
	_cleanup_free_ char *clean = malloc(len + 1);
	_cleanup_free_ unsigned char *out = NULL;
	size_t n = 0, pad = 0;
	long r;

	if (!clean)
		return key_fail(why, whylen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++)
		if (!key_is_space(s[i]))
			clean[n++] = s[i];
	while (pad < n && clean[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		char c[KEY_SHOWN_MAX + 4];

		if (clean[i] == '=')
			return key_fail(why, whylen, -EINVAL, "base64 does not decode: '=' inside");
		if (base64_value(clean[i]) < 0)
			return key_fail(why, whylen, -EINVAL,
					"base64 does not decode: invalid character '%s'",
					key_shown(c, sizeof(c), &clean[i], 1));
	}
	if (n == 0 || pad > 2 || n % 4 != 0)
		return key_fail(why, whylen, -EINVAL, "base64 does not decode: %s",
				pad > 0 ? "bad padding" : "truncated");
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return key_fail(why, whylen, -ENOMEM, "out of memory");
	r = base64_decode(clean, n, out);
	if (r < 0)
		return key_fail(why, whylen, -EINVAL,
				"base64 does not decode: stray bits in the padding");
	*ret = TAKE_PTR(out);
	*retlen = (size_t)r;
	return 0;
}

bool keyblob_is_blob(const char *token, size_t len)
{
	_cleanup_free_ unsigned char *blob = NULL;
	struct wire w;
	const char *s = NULL;
	size_t blen, n = 0;

	if (keyblob_decode(token, len, &blob, &blen, NULL, 0) < 0)
		return false;
	w = (struct wire){blob, blen, NULL, 0};
	return wire_cstring(&w, "key type", &s, &n) >= 0 && type_by_blob_name(s, n);
}
