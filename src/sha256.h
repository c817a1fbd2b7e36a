/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* SHA-256 (FIPS 180-4) of LEN bytes at DATA: what sshd's "SHA256:" fingerprints are taken with. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
