#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The way back from the quarantine. With Exclusive=yes, "sshmend fix" moves user1's keys outside
# the approved set to the quarantine, each with the time it was taken; "sshmend keys
# --quarantined" lists them (fingerprint, comment, time, the file they came from; text and
# --json), and an entry of an older version, without a time, too. "sshmend keys --restore USER
# FINGERPRINT" approves the key (a root-owned restored-*.pub in the user's drop-in directory),
# writes it back through the key sync, every line of the user's kept, and takes it out of the
# quarantine: the next fix leaves it where it is. A key the drop-in directory would reject (an
# RSA key under MinRSABits) is not restored and stays in the quarantine.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
keys_gen_each approved laptop old
keys_gen rsa1024 -t rsa -b 1024 || bail "ssh-keygen failed"
laptop=$(keys_pub laptop)
fp_launch=$(keys_fp "${SANDBOX_KEY}.pub")
fp_laptop=$(keys_fp "$TEST_TMP/laptop.pub")
fp_old=$(keys_fp "$TEST_TMP/old.pub")
fp_rsa=$(keys_fp "$TEST_TMP/rsa1024.pub")
run_as user1 sh -c 'printf "%s\n" "# my laptop" "$1" "$2" >>"$3"' sh "$laptop" "$(keys_pub rsa1024)" \
	"$ak" || bail "cannot write user1's authorized_keys"
keys_dropin_put user1 approved.pub "$(keys_pub approved)"
sandbox_config '[Users]' 'Exclude=root' '[Keys]' 'Exclusive=yes' 'MinRSABits=2048'

t0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$SSHMEND" --root "$SANDBOX" fix >"$TEST_TMP/out" 2>&1
is "$?" 0 "fix exits 0: user1 has an approved key, the others go" || diag "$(cat "$TEST_TMP/out")"
t1=$(date -u +%Y-%m-%dT%H:%M:%SZ)
is "$(grep -c -F -e "$laptop" "$ak")" 0 "the laptop key left authorized_keys"
q=$(find "$SANDBOX" -name quarantine.user1)
ok "the quarantine file exists" test -n "$q"
# An entry written by a version that recorded no time.
printf '# from /home/user1/.ssh/authorized_keys\n%s\n' "$(keys_pub old)" >>"$q"

# --- keys --quarantined ----------------------------------------------------------------------
out=$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)
is "$?" 0 "keys --quarantined exits 0"
l=$(grep -F -e "$fp_laptop" <<<"$out")
ok "the laptop key is listed by fingerprint, type and comment" \
	grep -q -E "^user1: $(sed 's/[+/]/./g' <<<"$fp_laptop") ssh-ed25519 laptop, taken [0-9-]{10}T[0-9:]{8}Z from /home/user1/.ssh/authorized_keys\$" <<<"$l" ||
	diag "$out"
taken=$(sed -n 's/.*, taken \([^ ]*\) from .*/\1/p' <<<"$l")
ok "... with the time it was taken ($taken)" test "$taken" \> "$t0" -o "$taken" = "$t0"
ok "... not after fix ended" test "$taken" \< "$t1" -o "$taken" = "$t1"
ok "the launch key is listed" grep -q -F -e "user1: $fp_launch ssh-ed25519 sshmend-sandbox, taken " <<<"$out"
ok "an entry of an older version is listed, its time not recorded" \
	grep -q -x -F -e "user1: $fp_old ssh-ed25519 old, taken at a time not recorded from /home/user1/.ssh/authorized_keys" <<<"$out"
json=$("$SSHMEND" --root "$SANDBOX" keys --quarantined --json user1)
ok "--json: the laptop key with its time" grep -q -F -e "{\"fingerprint\":\"$fp_laptop\",\"type\":\"ssh-ed25519\",\"comment\":\"laptop\",\"from\":\"/home/user1/.ssh/authorized_keys\",\"taken\":\"$taken\"}" <<<"$json" ||
	diag "$json"
ok "--json: the older entry's time is null" grep -q -F -e "\"comment\":\"old\",\"from\":\"/home/user1/.ssh/authorized_keys\",\"taken\":null}" <<<"$json"

# --- keys --restore --------------------------------------------------------------------------
before=$(grep -v -F -e "$KEYS_BEGIN" -e "$KEYS_END" -e "$(keys_pub approved)" "$ak")
out=$("$SSHMEND" --root "$SANDBOX" keys --restore user1 "$fp_laptop" 2>&1)
is "$?" 0 "keys --restore exits 0" || diag "$out"
ok "it says where the key went and where it is approved" \
	grep -q -F -e "user1: $fp_laptop (laptop) restored to /home/user1/.ssh/authorized_keys, approved in /etc/sshmend/keys.d/user1/restored-" <<<"$out"
ok "the laptop key is back in authorized_keys" grep -q -x -F -e "$laptop" "$ak"
ok "... in the approved block" grep -q -x -F -e "$laptop" <(keys_block "$ak")
is "$(grep -v -F -e "$KEYS_BEGIN" -e "$KEYS_END" -e "$(keys_pub approved)" -e "$laptop" "$ak")" "$before" \
	"every line of the user's is kept"
ok "authorized_keys is still user1's, 0600" stat_is "$ak" "20001 20001 0600"
f=$(find "$(keys_dropin_dir user1)" -name 'restored-*.pub')
ok "the key is approved in a drop-in file ($(basename "$f"))" test -n "$f" -a "$(cat "$f")" = "$laptop"
ok "... root's, 0644" stat_is "$f" "0 0 0644"
out=$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)
is "$(grep -c -F -e "$fp_laptop" <<<"$out")" 0 "the quarantine no longer lists it"
ok "it still lists the others" grep -q -F -e "$fp_launch" <<<"$out"
ok "... the older entry too" grep -q -F -e "$fp_old" <<<"$out"

# Not quarantined again.
"$SSHMEND" --root "$SANDBOX" fix >"$TEST_TMP/out" 2>&1
is "$?" 0 "fix after the restore exits 0" || diag "$(cat "$TEST_TMP/out")"
ok "the laptop key stays" grep -q -x -F -e "$laptop" "$ak"
is "$(grep -c -F -e "$fp_laptop" <<<"$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)")" 0 \
	"it is not quarantined again"
"$SSHMEND" --root "$SANDBOX" check >"$TEST_TMP/out" 2>&1
is "$?" 0 "check exits 0" || diag "$(cat "$TEST_TMP/out")"

# --- What is not restored ----------------------------------------------------------------------
out=$("$SSHMEND" --root "$SANDBOX" keys --restore user1 "$fp_rsa" 2>&1)
is "$?" 1 "a 1024-bit RSA key under MinRSABits=2048 is not restored (exit 1)"
ok "... and it says why" grep -q -F -e "not restored, it stays in the quarantine: " <<<"$out" || diag "$out"
ok "... it stays in the quarantine" grep -q -F -e "$fp_rsa" <<<"$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)"
ok "... and out of authorized_keys" eval '! grep -q -F -e "$(keys_pub rsa1024)" "$ak"'
out=$("$SSHMEND" --root "$SANDBOX" keys --restore user1 SHA256:nosuchkey 2>&1)
is "$?" 1 "a fingerprint not in the quarantine: exit 1"
ok "... saying so" grep -q -F -e "no key SHA256:nosuchkey in the quarantine" <<<"$out"
"$SSHMEND" --root "$SANDBOX" keys --restore user1 >/dev/null 2>&1
is "$?" 2 "--restore without a fingerprint is a usage error"

# --- Two lines of one key: the one restored goes, the other stays ------------------------------
restricted="from=\"10.0.0.1\",command=\"/usr/bin/backup\" $(keys_pub old)"
printf '# from /home/user1/.ssh/authorized_keys\n%s\n' "$restricted" >>"$q"
is "$(grep -c -F -e "$fp_old" <<<"$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)")" 2 \
	"the old key stands twice in the quarantine, with and without options"
out=$("$SSHMEND" --root "$SANDBOX" keys --restore user1 "$fp_old" 2>&1)
is "$?" 0 "keys --restore of the old key exits 0" || diag "$out"
ok "the line restored is the last one taken, with its options" grep -q -x -F -e "$restricted" "$ak"
is "$(grep -c -F -e "$fp_old" <<<"$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)")" 1 \
	"the other line of the key stays in the quarantine"

done_testing
