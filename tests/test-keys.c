/* SPDX-License-Identifier: Apache-2.0 */
#include <netdb.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include "check-main.h"
#include "keys.h"
#include "macro.h"
#include "unit-helpers.h"

/*
 * Lines made once with ssh-keygen, with what ssh-keygen -l said of them, so that every type is
 * checked where no ssh-keygen is installed. The security-key lines, the rsa-sha2-512 one and the
 * last three were built by hand from the keys above them (no token was at hand to make sk keys).
 * The last three are not in canonical form (a padded mpint, "RSA" as the blob's type, a NUL after
 * the type); ssh-keygen reads them and fingerprints the key as if they were.
 */
static const struct {
	const char *line, *type, *comment;
	unsigned bits;
	const char *fingerprint;
} known[] = {
    {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICLqcpcZZHJM2lRX19Op+MBqkPz3msAWD6JRIBiQXmfU kat"
     "-ed25519-256",
     "ssh-ed25519", "kat-ed25519-256", 256, "SHA256:ryIitTUj3vl4rNNFm3+iamPQeDwvawROUPT9zbxdqOY"},
    {"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCE+YHcXdASt"
     "76Ubh6Us/r/QCuxeBlMcqPEY7teVMd51TkI5nEpblc/bFVCNWTtEAO6IYGXgKXxkz3/AGjxBfxo= kat-ecd"
     "sa-256",
     "ecdsa-sha2-nistp256", "kat-ecdsa-256", 256,
     "SHA256:9+rZHnJvQnBGe/lsueyHy44RzxiWtcKThIy5QfI7iCQ"},
    {"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBGfVeUefmvCW"
     "vE9Vdooadi1cBV89aV3JV6pc465BAH208FHaNCe2K5CT9U1gQ4YmHAxDHWgx7v6wczIMZOML8Aec4Df8IoSM"
     "qye2Sa7SogThpu0kVuSSIXMJhN431z12Zw== kat-ecdsa-384",
     "ecdsa-sha2-nistp384", "kat-ecdsa-384", 384,
     "SHA256:rsYKvEx21PIe1uaWbtt28lykdmeFG2q6DFhny+/lI58"},
    {"ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABA2rHbz5qf"
     "wKSIMWta4/1qidlBwFSqzfJJIMAwKQpN8bOemWHwEeE+9BvVP0ZkQWjklRK/o5NKvtfxds8OHSBU5AFZ5GKI"
     "J3mSmm/XtUU3T68MZrm4oM8/ko6ZfUh6gpS7L8sff9/Bi6pHUt+TskeI/nERoHKG/TiBtbpWQ6cbaaXZlg=="
     " kat-ecdsa-521",
     "ecdsa-sha2-nistp521", "kat-ecdsa-521", 521,
     "SHA256:13qwjcVO49wgyDebSmjkSsinVHfCh/85tPnr3l8O7dA"},
    {"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC5OyB7ryaPfra5nz0pdTjkWQmEPYgHjgPeCoDwKVMhZcK3"
     "NGNxSL2Dly0KwtxvaBGFR6kC+YTzQ2BmKyd6Nd5RR2pM+5yI56Aahj0SIxQ5TRBDNBn1TB3WSuGD+C2a2kWG"
     "1tZcmSLwiqcdv2ArIxIuW8WzLi5ZvcBIfFdhIXen1Q== kat-rsa-1024",
     "ssh-rsa", "kat-rsa-1024", 1024, "SHA256:1IRV1FpHtECET7NymEaS4oYE61jd+tc/5RVAjHalBhE"},
    {"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC31f8n6AJJi5BBQkXOMyk+kk3VjUYy1HYCZnW2k/vy+UK1"
     "Id7JRfX8PVTvJjiHPbsVy+nBFyB+ORizSXkZUhJlh/xmHXjZi0JCQ49MnodLlYqBT4LK7C2U2r/IoIadRb0W"
     "Ws3wvzsTAIn1CPodbUq51j40DG1wwM3KgUeV6Y8bdUeQjjnqX7qXUmGDI6g1aSjPvwFtVXeL8yvz92+tC/GL"
     "Nn3wyc7/g19nTUUKOe7Ralwq5E6QQMzbanUJFBbN+Ud5o4E9F1q1ZgViZYfQU0TxDm+eV9nLi41ZSyLUfS9i"
     "r9EJ3B1JADv3VXqpChoXPPNpBZvRgo1bOB49rcASEr3h kat-rsa-2048",
     "ssh-rsa", "kat-rsa-2048", 2048, "SHA256:w1Mw3a/vz7H8Jr3QUQsUGhrKAGBi23R+DrAIOtng02c"},
    {"ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAA"
     "AINRvXx8NHLtcJnZK7ill+vUfeSOfFROd2vvzkE9b/I5DAAAAICLqcpcZZHJM2lRX19Op+MBqkPz3msAWD6J"
     "RIBiQXmfUAAAAAAAAAAAAAAABAAAAAmlkAAAACAAAAAR1c2VyAAAAAAAAAAD//////////wAAAAAAAACCAAA"
     "AFXBlcm1pdC1YMTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnB"
     "lcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1pdC11c2VyLXJjAAA"
     "AAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIGT4OhUFFmZmVTkYBt/b5QNKoGupJMxg3KtptexP1CFKAAA"
     "AUwAAAAtzc2gtZWQyNTUxOQAAAECz8Q5/PSh6MnN+xBuVVjnhmv2L6O7a8Qznk8pA0oJ56IPfw7hAiwBIFht"
     "4MqViOSVk9BC+j80XKovdP17qx7QK kat-ed25519-256",
     "ssh-ed25519-cert-v01@openssh.com", "kat-ed25519-256", 256,
     "SHA256:ryIitTUj3vl4rNNFm3+iamPQeDwvawROUPT9zbxdqOY"},
    {"ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgZsSvpGQ"
     "TTDDQe3cMSQJ2LOOKXaDpedmODaIBTEWzD34AAAADAQABAAAAgQC5OyB7ryaPfra5nz0pdTjkWQmEPYgHjgP"
     "eCoDwKVMhZcK3NGNxSL2Dly0KwtxvaBGFR6kC+YTzQ2BmKyd6Nd5RR2pM+5yI56Aahj0SIxQ5TRBDNBn1TB3"
     "WSuGD+C2a2kWG1tZcmSLwiqcdv2ArIxIuW8WzLi5ZvcBIfFdhIXen1QAAAAAAAAAAAAAAAQAAAANpZDIAAAA"
     "IAAAABHVzZXIAAAAAAAAAAP//////////AAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAA"
     "AABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAA"
     "KcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAA"
     "gZPg6FQUWZmZVORgG39vlA0qga6kkzGDcq2m17E/UIUoAAABTAAAAC3NzaC1lZDI1NTE5AAAAQAFxmjO1VLk"
     "LH954Ib+H1MHjtB9soiYzgEBIaAEl1kj6tewZY8zCgTf4qyN9GSIArw3dv2LOasDR+HU54pBNagw= kat-rs"
     "a-1024",
     "ssh-rsa-cert-v01@openssh.com", "kat-rsa-1024", 1024,
     "SHA256:1IRV1FpHtECET7NymEaS4oYE61jd+tc/5RVAjHalBhE"},
    {"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICLqcpcZZHJM2"
     "lRX19Op+MBqkPz3msAWD6JRIBiQXmfUAAAABHNzaDo= kat-sk-ed25519",
     "sk-ssh-ed25519@openssh.com", "kat-sk-ed25519", 256,
     "SHA256:KBDJ+ZrFBI5h+EZl34imYRWPb3rHxLVJeJXVB0W3/c8"},
    {"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb"
     "20AAAAIbmlzdHAyNTYAAABBBCE+YHcXdASt76Ubh6Us/r/QCuxeBlMcqPEY7teVMd51TkI5nEpblc/bFVCNW"
     "TtEAO6IYGXgKXxkz3/AGjxBfxoAAAAEc3NoOg== kat-sk-ecdsa",
     "sk-ecdsa-sha2-nistp256@openssh.com", "kat-sk-ecdsa", 256,
     "SHA256:yUMn/nZDLpdvgl5TiHfv1N55sLRgGVO8XAhNSkuprVA"},
    {"webauthn-sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3Bl"
     "bnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBCE+YHcXdASt76Ubh6Us/r/QCuxeBlMcqPEY7teVMd51TkI5nEpb"
     "lc/bFVCNWTtEAO6IYGXgKXxkz3/AGjxBfxoAAAAEc3NoOg== kat-webauthn",
     "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "kat-webauthn", 256,
     "SHA256:yUMn/nZDLpdvgl5TiHfv1N55sLRgGVO8XAhNSkuprVA"},
    {"rsa-sha2-512 AAAAB3NzaC1yc2EAAAADAQABAAABAQC31f8n6AJJi5BBQkXOMyk+kk3VjUYy1HYCZnW2k/v"
     "y+UK1Id7JRfX8PVTvJjiHPbsVy+nBFyB+ORizSXkZUhJlh/xmHXjZi0JCQ49MnodLlYqBT4LK7C2U2r/IoIa"
     "dRb0WWs3wvzsTAIn1CPodbUq51j40DG1wwM3KgUeV6Y8bdUeQjjnqX7qXUmGDI6g1aSjPvwFtVXeL8yvz92+"
     "tC/GLNn3wyc7/g19nTUUKOe7Ralwq5E6QQMzbanUJFBbN+Ud5o4E9F1q1ZgViZYfQU0TxDm+eV9nLi41ZSyL"
     "UfS9ir9EJ3B1JADv3VXqpChoXPPNpBZvRgo1bOB49rcASEr3h kat-alias",
     "rsa-sha2-512", "kat-alias", 2048, "SHA256:w1Mw3a/vz7H8Jr3QUQsUGhrKAGBi23R+DrAIOtng02c"},
    {"ssh-rsa AAAAB3NzaC1yc2EAAAAFAAABAAEAAAEBALfV/yfoAkmLkEFCRc4zKT6STdWNRjLUdgJmdbaT+/L5"
     "QrUh3slF9fw9VO8mOIc9uxXL6cEXIH45GLNJeRlSEmWH/GYdeNmLQkJDj0yeh0uVioFPgsrsLZTav8ighp1F"
     "vRZazfC/OxMAifUI+h1tSrnWPjQMbXDAzcqBR5Xpjxt1R5COOepfupdSYYMjqDVpKM+/AW1Vd4vzK/P3b60L"
     "8Ys2ffDJzv+DX2dNRQo57tFqXCrkTpBAzNtqdQkUFs35R3mjgT0XWrVmBWJlh9BTRPEOb55X2cuLjVlLItR9"
     "L2Kv0QncHUkAO/dVeqkKGhc882kFm9GCjVs4Hj2twBISveE= kat-padded-mpint",
     "ssh-rsa", "kat-padded-mpint", 2048, "SHA256:w1Mw3a/vz7H8Jr3QUQsUGhrKAGBi23R+DrAIOtng02c"},
    {"ssh-rsa AAAAA1JTQQAAAAMBAAEAAAEBALfV/yfoAkmLkEFCRc4zKT6STdWNRjLUdgJmdbaT+/L5QrUh3slF"
     "9fw9VO8mOIc9uxXL6cEXIH45GLNJeRlSEmWH/GYdeNmLQkJDj0yeh0uVioFPgsrsLZTav8ighp1FvRZazfC/"
     "OxMAifUI+h1tSrnWPjQMbXDAzcqBR5Xpjxt1R5COOepfupdSYYMjqDVpKM+/AW1Vd4vzK/P3b60L8Ys2ffDJ"
     "zv+DX2dNRQo57tFqXCrkTpBAzNtqdQkUFs35R3mjgT0XWrVmBWJlh9BTRPEOb55X2cuLjVlLItR9L2Kv0Qnc"
     "HUkAO/dVeqkKGhc882kFm9GCjVs4Hj2twBISveE= kat-short-name-in-blob",
     "ssh-rsa", "kat-short-name-in-blob", 2048,
     "SHA256:w1Mw3a/vz7H8Jr3QUQsUGhrKAGBi23R+DrAIOtng02c"},
    {"ssh-ed25519 AAAADHNzaC1lZDI1NTE5AAAAACAi6nKXGWRyTNpUV9fTqfjAapD895rAFg+iUSAYkF5n1A=="
     " kat-nul-terminated-type",
     "ssh-ed25519", "kat-nul-terminated-type", 256,
     "SHA256:ryIitTUj3vl4rNNFm3+iamPQeDwvawROUPT9zbxdqOY"},
};

static int parse(const char *line, unsigned min_rsa_bits, struct key_line *k, char *why,
		 size_t whylen)
{
	return key_parse_line(line, strlen(line), min_rsa_bits, k, why, whylen);
}

/* The blob part of a known line, for building other lines around it. */
static char *blob_of(size_t i)
{
	const char *b = strchr(known[i].line, ' ') + 1;

	return strndup(b, strcspn(b, " "));
}

START_TEST(skipped_lines)
{
	static const char *const lines[] = {"", " ", "\t \t", "#", "# ssh-ed25519 AAAA", "   #x"};
	struct key_line k;
	char why[256];

	for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
		memset(&k, 0x55, sizeof(k));
		ck_assert_int_eq(parse(lines[i], 0, &k, why, sizeof(why)), 1);
		ck_assert_str_eq(why, "");
		ck_assert_ptr_null(k.type);
		ck_assert_ptr_null(k.blob);
		key_line_done(&k);
	}
	ck_assert_int_eq(key_parse_line(NULL, 0, 0, &k, why, sizeof(why)), 1);
}
END_TEST

START_TEST(known_lines)
{
	for (size_t i = 0; i < ELEMENTSOF(known); i++) {
		struct key_line k;
		char why[256], fp[64];
		int r = parse(known[i].line, 0, &k, why, sizeof(why));

		ck_assert_msg(r == 0, "%s: %d %s", known[i].comment, r, why);
		ck_assert_ptr_null(k.options);
		ck_assert_str_eq(k.type, known[i].type);
		ck_assert_str_eq(k.comment, known[i].comment);
		ck_assert_uint_eq(k.bits, known[i].bits);
		ck_assert_str_eq(k.fingerprint, known[i].fingerprint);
		ck_assert(k.certificate == (strstr(k.type, "-cert-v01@") != NULL));
		ck_assert(!k.cert_authority);
		/* The blob alone gives the same fingerprint. */
		ck_assert_int_eq(key_fingerprint(k.blob, k.blob_len, fp), 0);
		ck_assert_str_eq(fp, known[i].fingerprint);
		key_line_done(&k);
		key_line_done(&k);
	}
}
END_TEST

START_TEST(blanks_and_comments)
{
	_cleanup_free_ char *b = blob_of(0), *line = NULL;
	struct key_line k;
	char why[256];

	/* Leading blanks, several blanks between fields, a comment with blanks, trailing blanks. */
	ck_assert_int_gt(asprintf(&line, " \t ssh-ed25519 \t %s  me at  host \t ", b), 0);
	ck_assert_int_eq(parse(line, 0, &k, why, sizeof(why)), 0);
	ck_assert_str_eq(k.comment, "me at  host");
	key_line_done(&k);
	free(line);

	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s", b), 0);
	ck_assert_int_eq(parse(line, 0, &k, why, sizeof(why)), 0);
	ck_assert_ptr_null(k.comment);
	ck_assert_str_eq(k.fingerprint, known[0].fingerprint);
	key_line_done(&k);
	free(line);

	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s \t", b), 0);
	ck_assert_int_eq(parse(line, 0, &k, why, sizeof(why)), 0);
	ck_assert_ptr_null(k.comment);
	key_line_done(&k);
}
END_TEST

START_TEST(options_accepted)
{
	static const struct {
		const char *options;
		bool cert_authority;
	} cases[] = {
	    {"restrict", false},
	    {"restrict,pty,port-forwarding", false},
	    {"no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc", false},
	    {"agent-forwarding,x11-forwarding,user-rc", false},
	    {"touch-required,no-touch-required,verify-required,no-verify-required", false},
	    /* sshd matches option names ignoring case. */
	    {"RESTRICT,No-Pty,Command=\"uptime\"", false},
	    {"cert-authority,principals=\"alice,bob\"", true},
	    {"command=\"echo \\\"a b\\\" c\"", false},
	    {"command=\"\"", false},
	    {"from=\"10.0.0.0/8,!10.1.*,*.example.com\"", false},
	    {"environment=\"LANG=C\",environment=\"A_1=x y\",environment=\"LANG=de\"", false},
	    {"permitopen=\"host.example:22\",permitopen=\"[::1]:80\",permitopen=\"h/*\"", false},
	    /* A service name, and an alias of one, from the services database. */
	    {"permitopen=\"host.example:ssh\",permitopen=\"h:www\",permitlisten=\"http\"", false},
	    {"permitlisten=\"8080\",permitlisten=\"localhost:*\",permitlisten=\"[::1]:443\"",
	     false},
	    {"tunnel=\"any\"", false},
	    {"tunnel=\"5\"", false},
	    {"expiry-time=\"20991231\",expiry-time=\"209912312359\"", false},
	    {"expiry-time=\"20991231235959Z\",expiry-time=\"20991231utc\"", false},
	    /* sshd steps over empty items. */
	    {",restrict,,pty,", false},
	};
	_cleanup_free_ char *b = blob_of(0);

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *line = NULL;
		struct key_line k;
		char why[256];
		int r;

		ck_assert_int_gt(asprintf(&line, "%s ssh-ed25519 %s c", cases[i].options, b), 0);
		r = parse(line, 0, &k, why, sizeof(why));
		ck_assert_msg(r == 0, "%s: %d %s", cases[i].options, r, why);
		ck_assert_str_eq(k.options, cases[i].options);
		ck_assert_str_eq(k.type, "ssh-ed25519");
		ck_assert_str_eq(k.comment, "c");
		ck_assert(k.cert_authority == cases[i].cert_authority);
		ck_assert_str_eq(k.fingerprint, known[0].fingerprint);
		key_line_done(&k);
	}
}
END_TEST

START_TEST(options_rejected)
{
	static const struct {
		const char *options, *why;
	} cases[] = {
	    {"foo", "unknown option 'foo'"},
	    {"restrict,foo=\"bar\"", "unknown option 'foo'"},
	    {"ptyx", "unknown option 'ptyx'"},
	    {"no-restrict", "unknown option 'no-restrict'"},
	    {"no-cert-authority", "unknown option 'no-cert-authority'"},
	    {"restrict=\"yes\"", "unknown option 'restrict'"},
	    {"command=uptime", "option 'command' needs a double-quoted value"},
	    {"command", "unknown option 'command'"},
	    {"command=\"a\",command=\"b\"", "option 'command' given twice"},
	    {"from=\"a\",FROM=\"b\"", "option 'from' given twice"},
	    {"principals=\"a\",principals=\"b\"", "option 'principals' given twice"},
	    {"command=\"a\"b", "unexpected text after option 'command'"},
	    {"command=\"a\"\"b\"", "unexpected text after option 'command'"},
	    {"environment=\"PATH\"", "invalid environment \"PATH\""},
	    {"environment=\"=x\"", "invalid environment \"=x\""},
	    {"environment=\"A-B=1\"", "invalid environment \"A-B=1\""},
	    {"expiry-time=\"2099\"", "invalid expiry-time \"2099\""},
	    {"expiry-time=\"20991301\"", "invalid expiry-time \"20991301\""},
	    {"expiry-time=\"2099123125\"", "invalid expiry-time \"2099123125\""},
	    {"expiry-time=\"19700101Z\"", "invalid expiry-time \"19700101Z\""},
	    {"expiry-time=\"20991231X\"", "invalid expiry-time \"20991231X\""},
	    {"permitopen=\"host\"", "invalid permitopen \"host\""},
	    {"permitopen=\"host:0\"", "invalid permitopen \"host:0\""},
	    {"permitopen=\"host:65536\"", "invalid permitopen \"host:65536\""},
	    {"permitopen=\"host:no-such-service\"", "invalid permitopen \"host:no-such-service\""},
	    {"permitopen=\"[::1\"", "invalid permitopen \"[::1\""},
	    {"permitopen=\"8080\"", "invalid permitopen \"8080\""},
	    {"permitlisten=\"x\"", "invalid permitlisten \"x\""},
	    {"tunnel=\"-1\"", "invalid tunnel \"-1\""},
	    {"tunnel=\"2147483646\"", "invalid tunnel \"2147483646\""},
	    {"tunnel=\"tun0\"", "invalid tunnel \"tun0\""},
	    {"command=\"never closed", "unbalanced quote in options"},
	    {"command=\"a \\\" b", "unbalanced quote in options"},
	};
	_cleanup_free_ char *b = blob_of(0);

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *line = NULL;
		struct key_line k;
		char why[256];
		int r;

		ck_assert_int_gt(asprintf(&line, "%s ssh-ed25519 %s c", cases[i].options, b), 0);
		r = parse(line, 0, &k, why, sizeof(why));
		ck_assert_msg(r == -EINVAL, "%s: %d", cases[i].options, r);
		ck_assert_str_eq(why, cases[i].why);
		ck_assert_ptr_null(k.type);
		ck_assert_ptr_null(k.options);
	}
}
END_TEST

/* Building blobs by hand: SSH wire format and base64. */
struct blob {
	unsigned char p[8192];
	size_t len;
};

static void put(struct blob *b, const void *data, size_t n)
{
	ck_assert_uint_le(b->len + n, sizeof(b->p));
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_string(struct blob *b, const void *data, size_t n)
{
	unsigned char be[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n};

	put(b, be, 4);
	put(b, data, n);
}

static void put_cstring(struct blob *b, const char *s)
{
	put_string(b, s, strlen(s));
}

static char *line_of(const char *type, const struct blob *b, const char *comment)
{
	unsigned char *b64 = malloc(4 * ((b->len + 2) / 3) + 1);
	char *line = NULL;

	ck_assert_ptr_nonnull(b64);
	EVP_EncodeBlock(b64, b->p, (int)b->len);
	ck_assert_int_gt(asprintf(&line, "%s %s %s", type, b64, comment), 0);
	free(b64);
	return line;
}

/* A curve's generator: a valid public point for building ECDSA blobs. */
static size_t ec_generator(int nid, unsigned char *out, size_t size)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
	size_t n;

	ck_assert_ptr_nonnull(g);
	n = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED, out,
			       size, NULL);
	EC_GROUP_free(g);
	ck_assert_uint_gt(n, 0);
	return n;
}

static void expect_bad(const char *line, size_t len, unsigned min_rsa_bits, int err,
		       const char *reason)
{
	struct key_line k;
	char why[256];
	int r = key_parse_line(line, len, min_rsa_bits, &k, why, sizeof(why));

	ck_assert_msg(r == err, "want %d '%s', got %d '%s'", err, reason, r, why);
	ck_assert_str_eq(why, reason);
	ck_assert_ptr_null(k.type);
	ck_assert_ptr_null(k.blob);
}

static void expect_bad_str(const char *line, unsigned min_rsa_bits, int err, const char *reason)
{
	expect_bad(line, strlen(line), min_rsa_bits, err, reason);
}

START_TEST(bad_text)
{
	_cleanup_free_ char *b = blob_of(0), *sk = blob_of(8);
	char *line = NULL;
	size_t n;

	/* Truncated in transit: the base64 stops short, or whole groups are lost. */
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %.*s c", (int)strlen(b) - 1, b), 0);
	expect_bad_str(line, 0, -EINVAL, "base64 does not decode: truncated");
	free(line);
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %.*s c", (int)strlen(b) - 4, b), 0);
	expect_bad_str(line, 0, -EINVAL, "key blob is truncated");
	free(line);
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %.8s!%s", b, b + 9), 0);
	expect_bad_str(line, 0, -EINVAL, "base64 does not decode: invalid character '!'");
	free(line);
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %.8s=%s", b, b + 9), 0);
	expect_bad_str(line, 0, -EINVAL, "base64 does not decode: '=' inside");
	free(line);
	/* b64_pton() in sshd refuses set bits under the padding. */
	n = strlen(sk);
	ck_assert_int_eq(sk[n - 1], '=');
	ck_assert_int_eq(sk[n - 2], 'o');
	sk[n - 2] = 'p';
	ck_assert_int_gt(asprintf(&line, "%s %s x", known[8].type, sk), 0);
	expect_bad_str(line, 0, -EINVAL, "base64 does not decode: stray bits in the padding");
	free(line);
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s= x", b), 0);
	expect_bad_str(line, 0, -EINVAL, "base64 does not decode: bad padding");
	free(line);

	/* Other files pasted in. */
	expect_bad_str("-----BEGIN OPENSSH PRIVATE KEY-----", 0, -EINVAL,
		       "private key, not a public key");
	expect_bad_str("  -----BEGIN RSA PRIVATE KEY-----", 0, -EINVAL,
		       "private key, not a public key");
	expect_bad_str("-----END PRIVATE KEY-----", 0, -EINVAL, "private key, not a public key");
	expect_bad_str("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", 0,
		       -EINVAL, "private key, not a public key");
	expect_bad_str("PuTTY-User-Key-File-3: ssh-ed25519", 0, -EINVAL,
		       "PuTTY private key, not a public key");
	expect_bad_str("---- BEGIN SSH2 PUBLIC KEY ----", 0, -EINVAL,
		       "RFC 4716 public key, not in authorized_keys format (see ssh-keygen -i)");
	expect_bad_str("-----BEGIN PUBLIC KEY-----", 0, -EINVAL,
		       "PEM public key, not in authorized_keys format (see ssh-keygen -i)");

	/* Lines that have no key sshd could find. */
	expect_bad_str("ssh-ed25519", 0, -EINVAL, "no base64 blob after ssh-ed25519");
	expect_bad_str("ssh-ed25519   ", 0, -EINVAL, "no base64 blob after ssh-ed25519");
	expect_bad_str("restrict", 0, -EINVAL, "no key after the options");
	expect_bad_str("restrict ssh-foo AAAA", 0, -EINVAL, "unknown key type 'ssh-foo'");
	expect_bad_str("ssh-ed2559 AAAAC3NzaC1lZDI1NTE5AAAAI", 0, -EINVAL,
		       "unknown key type 'ssh-ed2559'");
	expect_bad_str("SSH-ED25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 0, -EINVAL,
		       "unknown key type (not shown: it may be private key material)");
	expect_bad_str("hello", 0, -EINVAL, "unknown key type 'hello'");
	ck_assert_int_gt(asprintf(&line, "%s me@host", b), 0);
	expect_bad_str(line, 0, -EINVAL, "key type missing before the base64 blob");
	free(line);
	ck_assert_int_gt(asprintf(&line, "restrict %s me@host", b), 0);
	expect_bad_str(line, 0, -EINVAL, "key type missing before the base64 blob");
	free(line);
	/* The reason quotes the file, but only printable ASCII, and not too much of it. */
	expect_bad_str("\x1b[31mred ssh-ed25519 AAAA", 0, -EINVAL, "unknown option '?[31mred'");
	expect_bad_str("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0,
		       -EINVAL, "unknown key type (not shown: it may be private key material)");
}
END_TEST

/*
 * A line as sshd reads it whole (SECURITY.md, scenario 19): up to a NUL, a CR before the newline
 * skipped by its base64 decoder, no length limit. Each such line is the key sshd logs in with.
 */
static void expect_key(const char *line, size_t len, const char *comment)
{
	struct key_line k;
	char why[256];
	int r = key_parse_line(line, len, 0, &k, why, sizeof(why));

	ck_assert_msg(r == 0, "%d %s", r, why);
	ck_assert_str_eq(k.fingerprint, known[0].fingerprint);
	if (comment)
		ck_assert_str_eq(k.comment, comment);
	else
		ck_assert_ptr_null(k.comment);
	key_line_done(&k);
}

START_TEST(read_as_sshd_does)
{
	_cleanup_free_ char *b = blob_of(0), *huge = NULL;
	char *line = NULL, why[256];
	struct key_line k;
	size_t n;

	/* CRLF: with a comment, and with none (the CR right after the base64). */
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s c\r", b), 0);
	expect_key(line, strlen(line), "c");
	free(line);
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s\r", b), 0);
	expect_key(line, strlen(line), NULL);
	free(line);
	ck_assert_int_gt(asprintf(&line, "restrict ssh-ed25519 %s\r", b), 0);
	expect_key(line, strlen(line), NULL);
	/* A NUL ends the line: what follows it is never read. */
	n = strlen(line);
	line[n - 1] = 0;
	expect_key(line, n, NULL);
	free(line);
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s c%cjunk \x01", b, 0), 0);
	expect_key(line, strlen(b) + 21, "c");
	/* ... also when that leaves no key. */
	line[11] = 0;
	expect_bad(line, strlen(b) + 21, 0, -EINVAL, "no base64 blob after ssh-ed25519");
	free(line);
	/* Blank and comment lines of a CRLF file, a NUL in a comment. */
	ck_assert_int_eq(key_parse_line("\r", 1, 0, &k, why, sizeof(why)), 1);
	ck_assert_int_eq(key_parse_line(" \t\r", 3, 0, &k, why, sizeof(why)), 1);
	ck_assert_int_eq(key_parse_line("#\r", 2, 0, &k, why, sizeof(why)), 1);
	ck_assert_int_eq(key_parse_line("# a\0ssh-ed25519", 15, 0, &k, why, sizeof(why)), 1);
	ck_assert_int_eq(key_parse_line("\0ssh-ed25519", 12, 0, &k, why, sizeof(why)), 1);
	/* A comment of 100 KiB: no limit. */
	huge = malloc(100 * 1024 + 1);
	ck_assert_ptr_nonnull(huge);
	memset(huge, 'x', 100 * 1024);
	huge[100 * 1024] = 0;
	n = (size_t)snprintf(huge, 100 * 1024, "ssh-ed25519 %s ", b);
	huge[n] = 'x';
	expect_key(huge, 100 * 1024, huge + n);
}
END_TEST

/* What sshmend writes (drop-in lines) has none of that. */
START_TEST(written_lines_checked)
{
	_cleanup_free_ char *huge = malloc(KEYS_MAX_LINE + 1);
	char why[256];

	ck_assert_int_eq(key_line_check("ssh-ed25519 AAAA c", 18, false, why, sizeof(why)), 0);
	ck_assert_int_eq(key_line_check("ssh-ed25519 AAAA c\r", 19, false, why, sizeof(why)),
			 -EBADMSG);
	ck_assert_str_eq(why, "CRLF line end");
	ck_assert_int_eq(key_line_check("ssh-ed25519 AAAA c\r", 19, true, why, sizeof(why)), 0);
	ck_assert_int_eq(key_line_check("ssh-ed25519 AAAA\0c", 18, true, why, sizeof(why)),
			 -EBADMSG);
	ck_assert_str_eq(why, "NUL byte");
	ck_assert_ptr_nonnull(huge);
	memset(huge, 'A', KEYS_MAX_LINE + 1);
	ck_assert_int_eq(key_line_check(huge, KEYS_MAX_LINE, false, why, sizeof(why)), 0);
	ck_assert_int_eq(key_line_check(huge, KEYS_MAX_LINE + 1, false, why, sizeof(why)), -E2BIG);
	ck_assert_str_eq(why, "line longer than 8192 bytes");
	/* A keys file is one that holds nothing else: no NUL, no free text, at least one key. */
	ck_assert(keys_text_is_keys(known[0].line, strlen(known[0].line), NULL));
	ck_assert(!keys_text_is_keys("# a\0secret\n", 12, NULL));
	ck_assert(!keys_text_is_keys("\n\n", 2, NULL));
	{
		static const char *const marker[] = {"# marker", NULL};
		char text[1024];

		snprintf(text, sizeof(text), "# db password: hunter2\n%s\n", known[0].line);
		ck_assert(!keys_text_is_keys(text, strlen(text), marker));
		snprintf(text, sizeof(text), "# marker\n%s\r\n", known[0].line);
		ck_assert(keys_text_is_keys(text, strlen(text), marker));
	}
	{
		/* The text is LEN bytes, with no NUL after them: blanks are counted within. */
		char *blanks = malloc(2);

		ck_assert_ptr_nonnull(blanks);
		memcpy(blanks, " \t", 2);
		ck_assert(!keys_text_is_keys(blanks, 2, NULL));
		free(blanks);
	}
}
END_TEST

START_TEST(bad_blobs)
{
	unsigned char point[200], zero = 0, e[] = {0x01, 0x00, 0x01}, n[2050], key[32] = {1};
	struct blob b;
	size_t plen;
	char *line;

	/* The type inside must be the type on the line. */
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-rsa");
	put_string(&b, e, sizeof(e));
	put_string(&b, key, sizeof(key));
	line = line_of("ssh-ed25519", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "key type in blob 'ssh-rsa' does not match 'ssh-ed25519'");
	free(line);
	line = line_of("ssh-ed25519-cert-v01@openssh.com", &b, "c");
	expect_bad_str(line, 0, -EINVAL,
		       "key type in blob 'ssh-rsa' does not match "
		       "'ssh-ed25519-cert-v01@openssh.com'");
	free(line);
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-foo");
	line = line_of("ssh-ed25519", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "unknown key type in blob 'ssh-foo'");
	free(line);

	/* ed25519 keys are 32 bytes; nothing may follow the key. */
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-ed25519");
	put_string(&b, key, 31);
	line = line_of("ssh-ed25519", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "ed25519 key of 31 bytes, not 32");
	free(line);
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-ed25519");
	put_string(&b, key, 32);
	put(&b, &zero, 1);
	line = line_of("ssh-ed25519", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "trailing bytes after the key in the blob");
	free(line);
	b = (struct blob){.len = 0};
	put_string(&b,
		   "ssh-ed\0"
		   "25519",
		   12);
	line = line_of("ssh-ed25519", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "NUL byte inside the key type in the key blob");
	free(line);

	/* ECDSA: the curve must be the type's, the point on it. */
	plen = ec_generator(NID_secp384r1, point, sizeof(point));
	b = (struct blob){.len = 0};
	put_cstring(&b, "ecdsa-sha2-nistp256");
	put_cstring(&b, "nistp384");
	put_string(&b, point, plen);
	line = line_of("ecdsa-sha2-nistp256", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "curve nistp384 does not match ecdsa-sha2-nistp256");
	free(line);
	b = (struct blob){.len = 0};
	put_cstring(&b, "ecdsa-sha2-nistp384");
	put_cstring(&b, "nistp384");
	put_string(&b, point, plen);
	line = line_of("ecdsa-sha2-nistp256", &b, "c");
	expect_bad_str(
	    line, 0, -EINVAL,
	    "key type in blob 'ecdsa-sha2-nistp384' does not match 'ecdsa-sha2-nistp256'");
	free(line);
	/* The generator itself is a good public key... */
	line = line_of("ecdsa-sha2-nistp384", &b, "c");
	{
		struct key_line k;
		char why[256];

		ck_assert_int_eq(parse(line, 0, &k, why, sizeof(why)), 0);
		ck_assert_uint_eq(k.bits, 384);
		key_line_done(&k);
	}
	free(line);
	/* ...but not once a byte of it is changed, nor compressed. */
	point[plen - 1] ^= 1;
	b = (struct blob){.len = 0};
	put_cstring(&b, "ecdsa-sha2-nistp384");
	put_cstring(&b, "nistp384");
	put_string(&b, point, plen);
	line = line_of("ecdsa-sha2-nistp384", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "not a valid point on nistp384");
	free(line);
	point[0] = POINT_CONVERSION_COMPRESSED;
	b = (struct blob){.len = 0};
	put_cstring(&b, "ecdsa-sha2-nistp384");
	put_cstring(&b, "nistp384");
	put_string(&b, point, plen / 2 + 1);
	line = line_of("ecdsa-sha2-nistp384", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "not a valid point on nistp384");
	free(line);

	/* RSA: 512 bits, which ssh-keygen no longer makes, is under sshd's floor of 1024. */
	memset(n, 0, sizeof(n));
	n[1] = 0xc5;
	n[64] = 0x01;
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-rsa");
	put_string(&b, e, sizeof(e));
	put_string(&b, n, 65);
	line = line_of("ssh-rsa", &b, "c");
	expect_bad_str(line, 0, -EKEYREJECTED, "RSA key of 512 bits is below the minimum of 1024");
	expect_bad_str(line, 2048, -EKEYREJECTED,
		       "RSA key of 512 bits is below the minimum of 2048");
	free(line);
	/* A negative modulus, and one over 16384 bits. */
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-rsa");
	put_string(&b, e, sizeof(e));
	put_string(&b, n + 1, 64);
	line = line_of("ssh-rsa", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "negative number in key blob");
	free(line);
	memset(n, 0x11, sizeof(n));
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-rsa");
	put_string(&b, e, sizeof(e));
	put_string(&b, n, 2049);
	line = line_of("ssh-rsa", &b, "c");
	expect_bad_str(line, 0, -EINVAL, "number in key blob longer than 16384 bits");
	free(line);

	/* DSA parses, and is refused. */
	b = (struct blob){.len = 0};
	put_cstring(&b, "ssh-dss");
	for (int i = 0; i < 4; i++)
		put_string(&b, n, 64);
	line = line_of("ssh-dss", &b, "c");
	expect_bad_str(line, 0, -EKEYREJECTED,
		       "ssh-dss keys are refused by sshd by default since OpenSSH 7.0");
	free(line);

	ck_assert_int_eq(key_fingerprint(n, 10, (char[64]){0}), -EINVAL);
	ck_assert_int_eq(key_fingerprint(NULL, 0, (char[64]){0}), -EINVAL);
}
END_TEST

START_TEST(options_refused)
{
	/* sshd reads these, then refuses the key at every login. */
	static const struct {
		const char *options, *why;
	} cases[] = {
	    {"principals=\"alice\"", "principals= without cert-authority, so sshd refuses the key"},
	    {"from=\"10.0.0.1/8\"",
	     "from= network '10.0.0.1/8' is invalid, so sshd refuses the key"},
	    {"from=\"*.example.com,!192.168.1.1/33\"",
	     "from= network '192.168.1.1/33' is invalid, so sshd refuses the key"},
	    {"from=\"10.1/8\"", "from= network '10.1/8' is invalid, so sshd refuses the key"},
	    {"from=\"fe80::1/64\"",
	     "from= network 'fe80::1/64' is invalid, so sshd refuses the key"},
	    {"from=\"10.0.0.0/8,\"", "empty entry in from=, so sshd refuses the key"},
	    {"from=\"\"", "empty entry in from=, so sshd refuses the key"},
	    {"from=\"!\"", "empty entry in from=, so sshd refuses the key"},
	};
	/* Not networks at all, so host name patterns: sshd takes them. */
	static const char *const fine[] = {
	    "from=\"10.0.0.0/8,fe80::/64,0.0.0.0/0\"",
	    "from=\"10.0.0.1/abc\"",
	    "from=\"::1/129\"",
	    "cert-authority,principals=\"alice\"",
	};
	_cleanup_free_ char *b = blob_of(0);

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *line = NULL;

		ck_assert_int_gt(asprintf(&line, "%s ssh-ed25519 %s c", cases[i].options, b), 0);
		expect_bad_str(line, 0, -EKEYREJECTED, cases[i].why);
	}
	for (size_t i = 0; i < ELEMENTSOF(fine); i++) {
		_cleanup_free_ char *line = NULL;
		struct key_line k;
		char why[256];

		ck_assert_int_gt(asprintf(&line, "%s ssh-ed25519 %s c", fine[i], b), 0);
		ck_assert_msg(parse(line, 0, &k, why, sizeof(why)) == 0, "%s: %s", fine[i], why);
		key_line_done(&k);
	}
	/* A syntax error elsewhere makes sshd ignore the line instead; that is what is said. */
	{
		_cleanup_free_ char *line = NULL;

		ck_assert_int_gt(asprintf(&line, "principals=\"a\",foo ssh-ed25519 %s", b), 0);
		expect_bad_str(line, 0, -EINVAL, "unknown option 'foo'");
	}
}
END_TEST

START_TEST(service_names)
{
	_cleanup_free_ char *b = blob_of(0), *line = NULL;
	struct key_line k;
	char why[256];

	/* sshd looks a port name up in the services database, as we do; that needs one. */
	if (!getservbyname("ssh", "tcp")) {
		printf("# no services database: port names not checked\n");
		fflush(stdout);
		return;
	}
	ck_assert_int_gt(asprintf(&line, "permitopen=\"localhost:ssh\" ssh-ed25519 %s", b), 0);
	ck_assert_int_eq(parse(line, 0, &k, why, sizeof(why)), 0);
	key_line_done(&k);
}
END_TEST

START_TEST(rsa_minimum)
{
	struct key_line k;
	char why[256];

	/* known[4] is a 1024-bit key: sshd's floor, under a RequiredRSASize of 2048. */
	ck_assert_uint_eq(known[4].bits, 1024);
	ck_assert_int_eq(parse(known[4].line, 0, &k, why, sizeof(why)), 0);
	key_line_done(&k);
	ck_assert_int_eq(parse(known[4].line, 1024, &k, why, sizeof(why)), 0);
	key_line_done(&k);
	expect_bad_str(known[4].line, 2048, -EKEYREJECTED,
		       "RSA key of 1024 bits is below the minimum of 2048");
	/* A certificate's key counts, too. */
	ck_assert_str_eq(known[7].type, "ssh-rsa-cert-v01@openssh.com");
	expect_bad_str(known[7].line, 2048, -EKEYREJECTED,
		       "RSA key of 1024 bits is below the minimum of 2048");
	ck_assert_int_eq(parse(known[5].line, 2048, &k, why, sizeof(why)), 0);
	key_line_done(&k);
}
END_TEST

/* A marker or known comment line is that text, whatever an editor did to the line end. */
START_TEST(line_is_text)
{
	static const char *const comments[] = {"# sshmend: keep", NULL};
	char text[1024];

	ck_assert(keys_line_is("# x", 3, "# x"));
	ck_assert(keys_line_is("# x\r", 4, "# x"));
	ck_assert(!keys_line_is("# x\r\r", 5, "# x"));
	ck_assert(!keys_line_is("# x ", 4, "# x"));
	ck_assert(!keys_line_is("# ", 2, "# x"));
	/* One CR is a CRLF file's; a second is text, and free text is not a keys file's. */
	snprintf(text, sizeof(text), "# sshmend: keep\r\n%s\r\n", known[0].line);
	ck_assert(keys_text_is_keys(text, strlen(text), comments));
	snprintf(text, sizeof(text), "# sshmend: keep\r\r\n%s\r\n", known[0].line);
	ck_assert(!keys_text_is_keys(text, strlen(text), comments));
}
END_TEST

START_TEST(type_table)
{
	static const char *const yes[] = {
	    "ssh-ed25519",
	    "sk-ssh-ed25519@openssh.com",
	    "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp521",
	    "sk-ecdsa-sha2-nistp256@openssh.com",
	    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
	    "ssh-rsa",
	    "rsa-sha2-256",
	    "rsa-sha2-512",
	    "ssh-ed25519-cert-v01@openssh.com",
	    "sk-ssh-ed25519-cert-v01@openssh.com",
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
	    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
	    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
	    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
	    "ssh-rsa-cert-v01@openssh.com",
	};
	static const char *const no[] = {
	    "ssh-dss",
	    "ssh-dss-cert-v01@openssh.com",
	    "SSH-ED25519",
	    "ED25519",
	    "RSA",
	    "",
	    "ssh-",
	    "ssh-ed25519 ",
	    "ecdsa-sha2-nistp224",
	};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		ck_assert_msg(key_type_known(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		ck_assert_msg(!key_type_known(no[i]), "%s", no[i]);
	ck_assert(!key_type_known(NULL));
}
END_TEST

/* ssh-keygen, when installed: keys made now, checked against what it says of them. */
static bool have_ssh_keygen(void)
{
	if (system("command -v ssh-keygen >/dev/null 2>&1") == 0)
		return true;
	printf("# ssh-keygen not found: generated keys not checked\n");
	fflush(stdout);
	return false;
}

static char *read_line(const char *path)
{
	char buf[16384];
	FILE *f = fopen(path, "re");

	ck_assert_msg(f != NULL, "%s", path);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return strdup(buf);
}

/* ssh-keygen -l: bits and fingerprint. */
static void keygen_fingerprint(const char *path, unsigned *bits, char fp[64])
{
	char cmd[4200];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -l -f '%s'", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%u %63s", bits, fp), 2);
	ck_assert_int_eq(pclose(p), 0);
}

static void check_generated(const char *pub, const char *type)
{
	_cleanup_free_ char *line = read_line(pub), *with_options = NULL, *bare = NULL;
	struct key_line k;
	char why[256], fp[64];
	unsigned bits;

	keygen_fingerprint(pub, &bits, fp);
	ck_assert_msg(parse(line, 0, &k, why, sizeof(why)) == 0, "%s: %s", pub, why);
	ck_assert_str_eq(k.type, type);
	ck_assert_str_eq(k.fingerprint, fp);
	ck_assert_uint_eq(k.bits, bits);
	ck_assert_str_eq(k.comment, "made-by-test");
	ck_assert_int_eq(key_fingerprint(k.blob, k.blob_len, fp), 0);
	ck_assert_str_eq(k.fingerprint, fp);
	key_line_done(&k);

	ck_assert_int_gt(
	    asprintf(&with_options, "restrict,command=\"ls -l\",from=\"10.0.0.1\" %s", line), 0);
	ck_assert_int_eq(parse(with_options, 0, &k, why, sizeof(why)), 0);
	ck_assert_str_eq(k.options, "restrict,command=\"ls -l\",from=\"10.0.0.1\"");
	ck_assert_str_eq(k.fingerprint, fp);
	key_line_done(&k);

	bare = strndup(line, strlen(line) - strlen(" made-by-test"));
	ck_assert_int_eq(parse(bare, 0, &k, why, sizeof(why)), 0);
	ck_assert_ptr_null(k.comment);
	ck_assert_str_eq(k.fingerprint, fp);
	key_line_done(&k);
}

START_TEST(generated_keys)
{
	static const struct {
		const char *keytype;
		unsigned bits;
		const char *type;
	} specs[] = {
	    {"ed25519", 256, "ssh-ed25519"},
	    {"ecdsa", 256, "ecdsa-sha2-nistp256"},
	    {"ecdsa", 384, "ecdsa-sha2-nistp384"},
	    {"ecdsa", 521, "ecdsa-sha2-nistp521"},
	    {"rsa", 2048, "ssh-rsa"},
	    {"rsa", 3072, "ssh-rsa"},
	};
	_cleanup_free_ char *root = NULL;
	char path[4200], cmd[9000];

	if (!have_ssh_keygen())
		return;
	root = unit_tmproot();
	for (size_t i = 0; i < ELEMENTSOF(specs); i++) {
		snprintf(path, sizeof(path), "%s/key%zu", root, i);
		snprintf(cmd, sizeof(cmd),
			 "ssh-keygen -q -t %s -b %u -N '' -C made-by-test -f '%s' </dev/null",
			 specs[i].keytype, specs[i].bits, path);
		ck_assert_int_eq(system(cmd), 0);
		strcat(path, ".pub");
		check_generated(path, specs[i].type);
	}

	/* A user certificate from a CA made here too. */
	snprintf(cmd, sizeof(cmd),
		 "ssh-keygen -q -t ed25519 -N '' -C ca -f '%s/ca' </dev/null && "
		 "ssh-keygen -q -s '%s/ca' -I id -n user '%s/key0.pub' </dev/null",
		 root, root, root);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/key0-cert.pub", root);
	check_generated(path, "ssh-ed25519-cert-v01@openssh.com");
	/* ...and one for the RSA key, signed by an ECDSA CA. */
	snprintf(cmd, sizeof(cmd),
		 "ssh-keygen -q -t ecdsa -N '' -C ca -f '%s/ca2' </dev/null && "
		 "ssh-keygen -q -s '%s/ca2' -I id -n user,other -O no-pty '%s/key5.pub' </dev/null",
		 root, root, root);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/key5-cert.pub", root);
	check_generated(path, "ssh-rsa-cert-v01@openssh.com");

	/* RequiredRSASize 3072 takes the 3072-bit key and refuses the 2048-bit one. */
	{
		_cleanup_free_ char *l2048 = NULL, *l3072 = NULL;
		struct key_line k;
		char why[256];

		snprintf(path, sizeof(path), "%s/key4.pub", root);
		l2048 = read_line(path);
		snprintf(path, sizeof(path), "%s/key5.pub", root);
		l3072 = read_line(path);
		ck_assert_int_eq(parse(l3072, 3072, &k, why, sizeof(why)), 0);
		key_line_done(&k);
		expect_bad_str(l2048, 3072, -EKEYREJECTED,
			       "RSA key of 2048 bits is below the minimum of 3072");
	}
	unit_rmtree(root);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("core");
	TCase *gen = tcase_create("ssh-keygen");

	tcase_add_test(tc, skipped_lines);
	tcase_add_test(tc, known_lines);
	tcase_add_test(tc, blanks_and_comments);
	tcase_add_test(tc, options_accepted);
	tcase_add_test(tc, options_rejected);
	tcase_add_test(tc, options_refused);
	tcase_add_test(tc, service_names);
	tcase_add_test(tc, bad_text);
	tcase_add_test(tc, read_as_sshd_does);
	tcase_add_test(tc, written_lines_checked);
	tcase_add_test(tc, bad_blobs);
	tcase_add_test(tc, rsa_minimum);
	tcase_add_test(tc, type_table);
	tcase_add_test(tc, line_is_text);
	suite_add_tcase(s, tc);
	/* Making RSA keys takes ssh-keygen a while. */
	tcase_set_timeout(gen, 120);
	tcase_add_test(gen, generated_keys);
	suite_add_tcase(s, gen);
	return s;
}
