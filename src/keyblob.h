/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/*
 * A key as sshd reads it from its blob: the key types sshd knows, the SSH wire format with
 * sshd's rules for each field, certificates, and the fingerprint of the plain key.
 */

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

/* The key type named S (LEN bytes) on a line, or NULL. */
const struct key_type *keyblob_type(const char *s, size_t len);

/*
 * The blob B64 (LEN bytes of base64) as sshd decodes it, into *RET (malloc'd, *RETLEN bytes).
 * -EINVAL with WHY when sshd would not decode it.
 */
int keyblob_decode(const char *b64, size_t len, unsigned char **ret, size_t *retlen, char *why,
		   size_t whylen);

/* Is TOKEN (LEN bytes) base64 of a key blob: a line that lost its key type? */
bool keyblob_is_blob(const char *token, size_t len);

/*
 * Parse BLOB as sshd's sshkey_from_blob() does, of the type WANT names (NULL: any); *TYPE its
 * type, *BITS its size, OUT the fingerprint of its plain key.
 */
int keyblob_fingerprint(const unsigned char *blob, size_t len, const struct key_type *want,
			const struct key_type **type, unsigned *bits, char out[64], char *why,
			size_t whylen);
