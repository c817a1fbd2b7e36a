/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/*
 * sshd (9.x) reads authorized_keys with getline() and sets no limit on a line; so does
 * key_parse_line(). What sshmend itself writes (the drop-in lines) is held to this: a longer
 * line is in practice not a key (an 8192-bit RSA key is 1.4 KB of base64, a certificate for one
 * signed by an 8192-bit CA about 4.6 KB); see key_line_check().
 */
#define KEYS_MAX_LINE 8192
/*
 * The largest keys file sshmend reads, every reader alike. sshd reads any size; a larger file is
 * a finding, never passed over as clean.
 */
#define KEYS_FILE_MAX (8u << 20)
#define KEYS_FILE_TOO_LARGE                                                                        \
	"larger than 8 MiB, so sshmend does not read it; sshd does: its keys are neither "         \
	"audited nor held to Exclusive="

struct key_line {
	/* Options text as written, NULL when none. */
	char *options;
	/* The key type token, e.g. "ssh-ed25519". */
	char *type;
	/* Decoded key blob. */
	unsigned char *blob;
	size_t blob_len;
	/* NULL when none; trailing blanks trimmed. */
	char *comment;
	/* RSA modulus bits; ECDSA curve size; 256 for ed25519. */
	unsigned bits;
	/*
	 * "SHA256:" + unpadded base64 of SHA-256 of the blob, as ssh-keygen -l prints it. For a
	 * certificate, as there, that of the certified key; see key_parse_line().
	 */
	char fingerprint[64];
	/*
	 * A *-cert-v01 line. sshd parses it, but never lets it log anyone in: it matches a user's
	 * plain key against plain keys and a certificate's CA against plain keys marked
	 * cert-authority.
	 */
	bool certificate;
	/* The options carry cert-authority. */
	bool cert_authority;
};

/* sshd refuses an RSA key under this many bits (SSH_RSA_MINIMUM_MODULUS_SIZE). */
#define KEY_RSA_MIN_BITS 1024

/*
 * Parse one authorized_keys line the way sshd 9.x does (auth_check_authkeys_file(),
 * auth_check_authkey_line(), sshkey_read(), sshauthopt_parse()). LEN excludes the '\n' the caller
 * split on. As sshd, which reads each line as a C string, it stops at a NUL; a CR before the
 * '\n' is white space that sshd's base64 decoder skips; there is no length limit.
 *
 * Returns 1 for a line sshd skips (empty, blanks, '#' comment, a lone CR); 0 and *ret filled for
 * a valid key line; otherwise a negative errno with a one-line reason in WHY:
 *   -EINVAL        sshd ignores the line (syntax, unknown option or type, bad blob)
 *   -EKEYREJECTED  sshd reads the line but refuses the key at every login: RSA under the
 *                  minimum, ssh-dss, principals= without cert-authority, a malformed network
 *                  or an empty entry in from=
 *   -ENOMEM
 * *ret is overwritten; on anything but 0 it is left zeroed. The fingerprint is taken, as sshd and
 * ssh-keygen -l take it, over the plain key in canonical form: a certificate gives the fingerprint
 * of its key. MIN_RSA_BITS below sshd's own floor, KEY_RSA_MIN_BITS, counts as that.
 */
int key_parse_line(const char *line, size_t len, unsigned min_rsa_bits, struct key_line *ret,
		   char *why, size_t whylen);

/*
 * Is LINE (LEN bytes, without its '\n') one sshmend would write? sshd reads many a line that
 * no writer for sshd wrote, and the next reader may be stricter. 0, or with a reason in WHY:
 *   -EBADMSG  a NUL, or (unless CRLF) a CR before the '\n'
 *   -E2BIG    longer than KEYS_MAX_LINE
 */
int key_line_check(const char *line, size_t len, bool crlf, char *why, size_t whylen);

/* Free what key_parse_line() filled in and zero it; accepts a zeroed struct. */
void key_line_done(struct key_line *k);

/*
 * The fingerprint of the key in BLOB (SSH wire format) as ssh-keygen -l prints it. -EINVAL if BLOB
 * is not a key sshd could read; key sizes are not judged here, so a 512-bit RSA key still gets one.
 */
int key_fingerprint(const unsigned char *blob, size_t len, char out[64]);

/*
 * The key types sshd 9.x knows, in one table; true if TYPE is one of them and sshd accepts it by
 * default. That includes the signature names sshd also takes as a type on the line (rsa-sha2-256,
 * rsa-sha2-512, webauthn-sk-ecdsa-sha2-nistp256@openssh.com), and excludes ssh-dss.
 */
bool key_type_known(const char *type);

/*
 * Is the line at P (LEN bytes, no newline) TEXT? A trailing CR is ignored: the line of a file
 * an editor saved with CRLF line ends.
 */
bool keys_line_is(const char *p, size_t len, const char *text);

/*
 * Does TEXT hold key lines sshd reads, at least one, each one key_line_check() passes, and
 * nothing else but blank lines and the comment lines COMMENTS names (NULL-terminated; CRLF
 * line ends allowed)? Such a file has nothing in it worth stealing; free text, even in a
 * comment, might.
 */
bool keys_text_is_keys(const char *text, size_t len, const char *const *comments);
