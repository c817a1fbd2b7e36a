/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Every journal event: its SSHMEND_EVENT name and MESSAGE_ID. Each id has an entry in
 * systemd/sshmend.catalog (a test checks), so that journalctl -x explains it.
 * X(enum suffix, SSHMEND_EVENT, MESSAGE_ID)
 */
#define SSHMEND_EVENTS(X)                                                                          \
	X(STARTED, "started", "da0047d59d464a6ca9c0a307e29d3f8e")                                  \
	X(RELOADED, "reloaded", "517dbe289e594af0907a751fd268775b")                                \
	X(STOPPING, "stopping", "142c1754c51b4023a2762835e5509a50")                                \
	X(DRIFT_REPAIRED, "drift-repaired", "fd0c73482cc34187b09f475469070f45")                    \
	X(REPAIR_REFUSED, "repair-refused", "bd598a2bcd62420bad166dc4f280faf7")                    \
	X(REPAIR_FAILED, "repair-failed", "113899a9697d49fea42a7bdba7b21226")                      \
	X(INTERNAL_ERROR, "internal-error", "2f663bbe1afb4504b35b76781b43b32e")                    \
	X(FLAPPING, "flapping", "1a5db49c345b4c338c51038a9e922946")                                \
	X(RESCAN, "rescan", "7ef0d631584742d18753e0cf567cbb5e")                                    \
	X(WATCH_LIMIT, "watch-limit", "715029790ad74678980d5d40c9eb8660")                          \
	X(SUPPRESSED, "suppressed", "6c90f440b7cb4d058177fa1250b9abb5")                            \
	X(CONFIG_ERROR, "config-error", "4aef36b4fc194b7bbb0f372ed4e86ff0")                        \
	X(CONFIG_WARNING, "config-warning", "d18e6874cf774e2d911cccde5fa437fe")                    \
	X(KEYS_SYNCED, "keys-synced", "330ee1f709c84bb682a4f71676aceac8")                          \
	X(KEY_REJECTED, "key-rejected", "0e969c5b28944feb9cd52a4b8a0dac76")                        \
	X(DROPIN_IGNORED, "dropin-ignored", "b0fb43ef2f2f4df59585535704a14805")                    \
	X(KEY_UNAPPROVED, "key-unapproved", "42f41a84df6346cbbbf58051032545fd")                    \
	X(KEY_REMOVED, "key-removed", "167445034e014a7dbc24d382c189c108")                          \
	X(KEY_QUARANTINED, "key-quarantined", "9eb006b9f20149ea85ba58d9c37ad00b")                  \
	X(KEYS_BASELINE, "keys-baseline", "70093cbfd8ba42b5abcbd4216f5d7557")                      \
	X(EXCLUSIVE_NOT_APPLIED, "exclusive-not-applied", "1daf4ad40df04e8e8506e8f0b2e575b5")      \
	X(LEFTOVER_REMOVED, "leftover-removed", "98df6fe818be4e0bbffc9a53ffd462a7")                \
	X(LOGIN_REFUSED_SYSTEM, "login-refused", "61a6f8fa7299478597406d8b9afb5e60")               \
	X(LOGIN_REFUSED_OPERATOR, "login-refused", "f5cecfd5bb9b44dcaa14524294e03275")             \
	X(LOGIN_REFUSED_POLICY, "login-refused", "3859ec196f5e4d46bdf6e908c032219f")               \
	X(LOGIN_NOISE, "login-noise", "be83fd1d1c094988bc475e063e8ec321")

enum event_kind {
#define X(e, name, id) EVENT_##e,
	SSHMEND_EVENTS(X)
#undef X
	    _EVENT_MAX,
};
