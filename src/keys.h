#pragma once
#include <stdbool.h>
#include <stddef.h>

/*
 * sshd (9.x) reads authorized_keys with getline() and sets no limit of its own. We do, because a
 * root daemon reads these files on behalf of users who may put anything in them, and because a
 * longer line is in practice not a key: an 8192-bit RSA key is 1.4 KB of base64, a certificate for
 * one signed by an 8192-bit CA about 4.6 KB. Only a 16384-bit RSA certificate from a 16384-bit CA
 * (about 8.7 KB), or options several kilobytes long, would pass it and still be read by sshd; such
 * a line is reported as too long rather than judged.
 */
#define KEYS_MAX_LINE 8192

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

/*
 * Parse one authorized_keys line the way sshd 9.x does (auth_check_authkey_line(), sshkey_read(),
 * sshauthopt_parse()). LEN excludes the '\n' the caller split on.
 *
 * Returns 1 for a line sshd skips (empty, blanks, '#' comment); 0 and *ret filled for a valid key
 * line; otherwise a negative errno with a one-line reason in WHY:
 *   -EINVAL        sshd ignores the line (syntax, unknown option or type, bad blob)
 *   -EKEYREJECTED  sshd reads the line but refuses the key at every login: RSA under the
 *                  minimum, ssh-dss, principals= without cert-authority, a malformed network
 *                  or an empty entry in from=
 *   -EBADMSG       bytes that have no place in the file: a NUL, a CR before the '\n'. Checked
 *                  before anything else, so a comment line with them is reported too. sshd
 *                  itself may still use such a line (it stops at a NUL, skips a CR in base64)
 *   -E2BIG         longer than KEYS_MAX_LINE
 *   -ENOMEM
 * *ret is overwritten; on anything but 0 it is left zeroed. The fingerprint is taken, as sshd and
 * ssh-keygen -l take it, over the plain key in canonical form: a certificate gives the fingerprint
 * of its key. MIN_RSA_BITS below sshd's own floor of 1024 counts as 1024.
 */
int key_parse_line(const char *line, size_t len, unsigned min_rsa_bits, struct key_line *ret,
		   char *why, size_t whylen);

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
 * Does TEXT hold key lines sshd reads, at least one, and nothing else but blank lines and the
 * comment lines COMMENTS names (NULL-terminated; CRLF line ends allowed)? Such a file has
 * nothing in it worth stealing; free text, even in a comment, might.
 */
bool keys_text_is_keys(const char *text, size_t len, const char *const *comments);
