#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a person reads in the daemon's journal entries, on a sandbox of two users: a repair says
# what changed and only that (no "owner user1 -> user1"); keys-synced names the approved keys it
# added and took out (SSHMEND_FINGERPRINTS_ADDED, SSHMEND_FINGERPRINTS_REMOVED, and in its
# message) and counts them in good English ("1 approved key"); key-removed carries the key's
# comment (SSHMEND_COMMENT); a rejected drop-in line is told once per change of its file, not
# again on every heal, when another drop-in file changes or on a reload; an unknown
# configuration key is a config-warning at priority warning, with its own MESSAGE_ID, not a
# config-error.
# shellcheck disable=SC2119,SC2317 # daemon_stop takes no arguments here; functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

# MESSAGE_IDs are part of the interface; systemd/sshmend.catalog.
ID_CONFIG_ERROR=4aef36b4fc194b7bbb0f372ed4e86ff0
ID_CONFIG_WARNING=d18e6874cf774e2d911cccde5fa437fe
ID_DROPIN_IGNORED=b0fb43ef2f2f4df59585535704a14805

sandbox_create 2 || bail "sandbox_create failed"
for k in laptop desktop; do
	keys_gen "$k" || bail "ssh-keygen failed"
done
fp_laptop=$(keys_fp "$TEST_TMP/laptop.pub")
fp_desktop=$(keys_fp "$TEST_TMP/desktop.pub")
H1=$SANDBOX/home/user1

keys_daemon_start --root "$SANDBOX"

lacks() {
	! grep -qF -- "$1" <<<"$2"
}
last_message() {
	daemon_event_messages "$@" | tail -n 1
}
# next_entry DESC EVENT N: wait for more than N EVENT entries; MSG is the last one's message.
next_entry() {
	ok "$1" wait_for 10 _daemon_count_above "$3" "SSHMEND_EVENT=$2"
	msg=$(last_message "$2")
	diag "$msg"
}
last_field() {
	local ev=$1 f=$2
	shift 2
	journal_field "$(daemon_events "$ev" "$@" | tail -n 1)" "$f"
}

diag "--- a repair says what changed, and only that"
chmod 0777 "$H1"
next_entry "the mode repair is logged" drift-repaired 0
ok "it gives the old and new mode" grep -qF 'repaired /home/user1: mode 0777 -> 0755' <<<"$msg"
ok "it does not name the owner that stayed" lacks owner "${msg%%;*}"
n=$(daemon_event_count drift-repaired)
chown 30000 "$H1"
next_entry "the owner repair is logged" drift-repaired "$n"
ok "it gives the old and new owner" grep -qF 'repaired /home/user1: owner 30000 -> user1' <<<"$msg"
ok "it does not name the mode that stayed" lacks mode "${msg%%;*}"
is "$(last_field drift-repaired SSHMEND_OLD_OWNER)" 30000 "SSHMEND_OLD_OWNER is still given"

diag "--- keys-synced names the keys it added and took out"
keys_dropin_put user1 laptop.pub "$(keys_pub laptop)"
next_entry "adding a drop-in key syncs" keys-synced 0
ok "one key reads \"1 approved key\"" grep -q 'now holds the 1 approved key;' <<<"$msg"
ok "the message names the key added" grep -qF "added $fp_laptop" <<<"$msg"
is "$(last_field keys-synced SSHMEND_FINGERPRINTS_ADDED)" "$fp_laptop" "SSHMEND_FINGERPRINTS_ADDED"
is "$(last_field keys-synced SSHMEND_FINGERPRINTS_REMOVED)" "" "no SSHMEND_FINGERPRINTS_REMOVED"

keys_dropin_put user1 desktop.pub "$(keys_pub desktop)"
next_entry "a second drop-in key syncs" keys-synced 1
ok "two keys read \"2 approved keys\"" grep -q 'now holds the 2 approved keys;' <<<"$msg"
is "$(last_field keys-synced SSHMEND_FINGERPRINTS_ADDED)" "$fp_desktop" \
	"SSHMEND_FINGERPRINTS_ADDED names only the new key"

rm -f "$(keys_dropin_dir user1)/laptop.pub"
next_entry "removing a drop-in key syncs" keys-synced 2
ok "the message names the key taken out" grep -qF "removed $fp_laptop" <<<"$msg"
is "$(last_field keys-synced SSHMEND_FINGERPRINTS_REMOVED)" "$fp_laptop" \
	"SSHMEND_FINGERPRINTS_REMOVED"
is "$(last_field keys-synced SSHMEND_FINGERPRINTS_ADDED)" "" "no SSHMEND_FINGERPRINTS_ADDED"
ok "key-removed is logged" wait_for 10 _daemon_count_above 0 SSHMEND_EVENT=key-removed \
	"SSHMEND_FINGERPRINT=$fp_laptop"
is "$(last_field key-removed SSHMEND_COMMENT "SSHMEND_FINGERPRINT=$fp_laptop")" laptop \
	"key-removed carries SSHMEND_COMMENT"

diag "--- a rejected drop-in line is told once per change of its file"
keys_dropin_put user1 broken.pub "ssh-ed25519 AAAAnot-base64 broken"
rejected() { daemon_event_count key-rejected SSHMEND_USER=user1; }
ok "the rejected line is logged" wait_for 10 _daemon_count_above 0 SSHMEND_EVENT=key-rejected
sleep 1
is "$(rejected)" 1 "once"
n=$(daemon_event_count drift-repaired)
for _ in 1 2 3; do
	chmod 0777 "$H1"
	wait_for 10 _daemon_count_above "$n" SSHMEND_EVENT=drift-repaired
	n=$(daemon_event_count drift-repaired)
done
# Another drop-in file the daemon ignores (writable by others): told once, on its own.
keys_dropin_put user1 loose.pub "$(keys_pub laptop)"
chmod 0666 "$(keys_dropin_dir user1)/loose.pub"
ok "the ignored file is logged as dropin-ignored" wait_for 10 _daemon_count_above 0 \
	SSHMEND_EVENT=dropin-ignored
e=$(daemon_events dropin-ignored | tail -n 1)
is "$(journal_field "$e" PRIORITY) $(journal_field "$e" MESSAGE_ID)" "4 $ID_DROPIN_IGNORED" \
	"dropin-ignored: priority warning, its own MESSAGE_ID"
sleep 1
is "$(rejected)" 1 "heals and another drop-in file do not tell the rejected line again"
is "$(daemon_event_count dropin-ignored SSHMEND_USER=user1)" 1 "the ignored file is told once"
keys_dropin_put user1 broken.pub "ssh-ed25519 AAAAnot-base64 broken" "# rewritten"
ok "a change of its file tells it again" wait_for 10 _daemon_count_above 1 SSHMEND_EVENT=key-rejected
sleep 1
is "$(rejected)" 2 "once"
n=$(daemon_event_count reloaded)
kill -HUP "$DAEMON_PID"
ok "SIGHUP reloads" wait_for 10 _daemon_count_above "$n" SSHMEND_EVENT=reloaded
is "$(rejected)" 2 "a reload does not tell the rejected line again"
rm -f "$(keys_dropin_dir user1)/broken.pub" "$(keys_dropin_dir user1)/loose.pub"

diag "--- configuration warnings and errors are different events"
sandbox_config '[Keys]' 'Exlusive=yes'
ok "an unknown key is a config-warning" wait_for 10 _daemon_count_above 0 \
	SSHMEND_EVENT=config-warning
e=$(daemon_events config-warning | tail -n 1)
diag "$(journal_field "$e" MESSAGE)"
is "$(journal_field "$e" PRIORITY) $(journal_field "$e" MESSAGE_ID)" "4 $ID_CONFIG_WARNING" \
	"config-warning: priority warning, its own MESSAGE_ID"
ok "it names the file and line" grep -qF '/etc/sshmend/sshmend.conf:2' <<<"$(journal_field "$e" MESSAGE)"
is "$(daemon_event_count config-error)" 0 "no config-error for it"
sandbox_config '[Keys]' 'MinRSABits=bogus'
ok "a bad value is a config-error" wait_for 10 _daemon_count_above 0 SSHMEND_EVENT=config-error
e=$(daemon_events config-error | tail -n 1)
is "$(journal_field "$e" PRIORITY) $(journal_field "$e" MESSAGE_ID)" "3 $ID_CONFIG_ERROR" \
	"config-error: priority err, its own MESSAGE_ID"

daemon_expect_stop "the daemon stops with status 0"
done_testing
