#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Approved keys from the drop-in directory are validated as sshd parses them: a corpus of bad
# lines next to one good key. "sshmend --root SANDBOX fix" writes the good key and none of the
# bad ones into authorized_keys, reports every bad line on stderr with its FILE:LINE, and the
# daemon logs a key-rejected entry naming the same FILE:LINE for each. The lines of a private key
# pasted by mistake are reported by FILE:LINE alone: no part of the secret is echoed to stderr or
# the journal. A drop-in file owned by a user or writable by its group, and a user's drop-in
# directory writable by others, are ignored with an alert (dropin-ignored), while a good file
# beside them still counts.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog openssl perl base64 head tr

sandbox_create 4 || bail "sandbox_create failed"

# --- The corpus (user1) --------------------------------------------------------------------
for k in good other pasted ok2 evil2 ok3 gw3 ow4; do
	keys_gen "$k" || bail "ssh-keygen failed"
done
keys_gen p384 -t ecdsa -b 384 || bail "ssh-keygen failed"
good=$(keys_pub good)
other=$(keys_pub other)
other_b64=$(awk '{ print $2 }' "$TEST_TMP/other.pub")
# An ecdsa-sha2-nistp256 blob that names curve nistp384 (the type strings have the same length).
p384_b64=$(awk '{ print $2 }' "$TEST_TMP/p384.pub")
curve_b64=$(printf '%s' "$p384_b64" | base64 -d |
	perl -0777 -pe 's/ecdsa-sha2-nistp384/ecdsa-sha2-nistp256/' | base64 -w0)
# ssh-keygen will not make a 512-bit RSA key; openssl will, and ssh-keygen converts its public half.
openssl genrsa -out "$TEST_TMP/rsa512.pem" 512 >/dev/null 2>&1 || bail "openssl genrsa failed"
openssl rsa -in "$TEST_TMP/rsa512.pem" -pubout -out "$TEST_TMP/rsa512.pub.pem" >/dev/null 2>&1 ||
	bail "openssl rsa -pubout failed"
ssh-keygen -i -m PKCS8 -f "$TEST_TMP/rsa512.pub.pem" >"$TEST_TMP/rsa512.pub" ||
	bail "ssh-keygen -i failed"
rsa512=$(<"$TEST_TMP/rsa512.pub")
ok "the RSA key has 512 bits" grep -q 'Public-Key: (512 bit)' \
	<(openssl rsa -pubin -in "$TEST_TMP/rsa512.pub.pem" -noout -text 2>/dev/null)

# want[N]: "bad" when line N of corpus.pub is a bad one, "" for the good key. Each bad line but
# the private key's carries a key blob of its own or a BAD-... marker, so that it can be told apart
# in authorized_keys.
declare -A want=()
corpus=$TEST_TMP/corpus.pub
{
	printf 'ssh-ed25519 %s BAD-truncated\n' "${other_b64:0:40}"
	printf 'ssh-rsa %s BAD-inner-type\n' "$other_b64"
	printf 'ecdsa-sha2-nistp256 %s BAD-curve\n' "$curve_b64"
	printf 'no-such-option %s BAD-option\n' "$other"
	printf 'command="echo hi %s BAD-quote\n' "$other"
	printf '%s BAD-rsa512\n' "$rsa512"
	printf '%s BAD-nul\0bytes\n' "$other"
	printf '%s BAD-long-%s\n' "$other" "$(head -c 102400 /dev/zero | tr '\0' x)"
	printf '%s BAD-crlf\r\n' "$other"
	printf '%s\n' "$good"
	cat "$TEST_TMP/pasted"
} >"$corpus"
for n in 1 2 3 4 5 6 7 8 9; do
	want[$n]=bad
done
want[10]=
pk_lines=$(wc -l <"$TEST_TMP/pasted")
for ((n = 11; n < 11 + pk_lines; n++)); do
	want[$n]=bad
done
nlines=$((10 + pk_lines))
is "$(wc -l <"$corpus")" "$nlines" "the corpus has $nlines lines"
is "$(awk 'length($0) > 100000' "$corpus" | wc -l)" 1 "one line is over 100 KB"
ok "the NUL and CR bytes are there" \
	test "$(tr -dc '\000\r' <"$corpus" | wc -c)" -eq 2

d1=$(keys_dropin_dir user1)
install -d -m 0755 -o 0 -g 0 "$SANDBOX/etc/sshmend" "$SANDBOX/etc/sshmend/keys.d" "$d1"
install -m 0644 -o 0 -g 0 "$corpus" "$d1/corpus.pub"
rel1=/etc/sshmend/keys.d/user1/corpus.pub

# --- Ignored with an alert (user2, user3, user4) --------------------------------------------
keys_dropin_put user2 good.pub "$(keys_pub ok2)"
keys_dropin_put user2 foreign.pub "$(keys_pub evil2)"
chown 20002:20002 "$(keys_dropin_dir user2)/foreign.pub"
keys_dropin_put user3 good.pub "$(keys_pub ok3)"
keys_dropin_put user3 group-writable.pub "$(keys_pub gw3)"
chmod 0664 "$(keys_dropin_dir user3)/group-writable.pub"
keys_dropin_put user4 open.pub "$(keys_pub ow4)"
chmod 0757 "$(keys_dropin_dir user4)"
rel2=/etc/sshmend/keys.d/user2/foreign.pub
rel3=/etc/sshmend/keys.d/user3/group-writable.pub
rel4=/etc/sshmend/keys.d/user4

dropins_before=$(sandbox_snapshot etc/sshmend; cd "$SANDBOX" && find etc/sshmend -type f \
	-exec sha256sum {} + | LC_ALL=C sort)

# --- sshmend fix ---------------------------------------------------------------------------
"$SSHMEND" --root "$SANDBOX" fix >"$TEST_TMP/fix.out" 2>"$TEST_TMP/fix.err" </dev/null
fix_rc=$?
is "$fix_rc" 1 "fix exits 1: the rejected drop-ins are findings" || diag "$(cat "$TEST_TMP/fix.err")"
ak1=$(keys_ak user1)

is "$(keys_block "$ak1")" "$good" "user1: the approved block holds the good key, alone"
is "$(keys_marker_count "$ak1")" "1 1" "user1: one begin and one end marker"
is "$(grep -c -F -e "$other_b64" -e "$curve_b64" -e BAD- "$ak1")" 0 \
	"user1: no bad line reached authorized_keys"
is "$(grep -c -F -e "$(awk '{ print $2 }' <<<"$rsa512")" "$ak1")" 0 \
	"user1: the 512-bit RSA key is not in authorized_keys"
ok "user1: nothing of the pasted private key is in authorized_keys" \
	test "$(grep -c -F -e PRIVATE -f <(sed '1d;$d' "$TEST_TMP/pasted") "$ak1")" -eq 0
is "$(tr -dc '\000\r' <"$ak1" | wc -c)" 0 "user1: no NUL or CR byte in authorized_keys"
ok "user1: no line over 8192 bytes in authorized_keys" \
	test "$(awk 'length($0) > 8192' "$ak1" | wc -l)" -eq 0
is "$(head -n 1 "$ak1")" "$SANDBOX_PUBKEY" "user1: the user's own key is still the first line"

# Every bad line on stderr with its FILE:LINE, the good line not.
absent_n='' extra_n=''
for ((n = 1; n <= nlines; n++)); do
	if [ -n "${want[$n]}" ]; then
		grep -q -F -e "$rel1:$n: " "$TEST_TMP/fix.err" || absent_n+=" $n"
	else
		! grep -q -F -e "$rel1:$n: " "$TEST_TMP/fix.err" || extra_n+=" $n"
	fi
done
is "$absent_n" "" "stderr names $rel1:N for every bad line"
is "$extra_n" "" "stderr does not name the good line"
is "$(grep -c -F -e "$rel1:" "$TEST_TMP/fix.err")" "$((nlines - 1))" \
	"one stderr line per bad line" || diag "$(grep -F "$rel1:" "$TEST_TMP/fix.err")"
ok "stderr lines are short (the 100 KB line is not echoed)" \
	test "$(awk 'length($0) > 1024' "$TEST_TMP/fix.err" | wc -l)" -eq 0
# A private key pasted by mistake is a secret: say where it is, never echo it (stderr ends up
# in logs, the journal is readable by the adm group).
leaked=
while IFS= read -r l; do
	case $l in -----*) continue ;; esac
	grep -q -F -e "${l:0:16}" "$TEST_TMP/fix.err" && leaked+=" ${l:0:16}..."
done <"$TEST_TMP/pasted"
is "$leaked" "" "stderr echoes no part of the pasted private key" ||
	diag "$(for ((n = 11; n <= nlines; n++)); do grep -F -e "$rel1:$n: " "$TEST_TMP/fix.err"; done)"

# Ignored files and directories.
ak2=$(keys_ak user2)
ak3=$(keys_ak user3)
ak4=$(keys_ak user4)
is "$(keys_block "$ak2")" "$(keys_pub ok2)" "user2: the root-owned file counts, the user-owned one not"
ok "user2: stderr alerts about $rel2" grep -q -F -e "$rel2: " "$TEST_TMP/fix.err"
is "$(keys_block "$ak3")" "$(keys_pub ok3)" "user3: the group-writable file is ignored"
ok "user3: stderr alerts about $rel3" grep -q -F -e "$rel3: " "$TEST_TMP/fix.err"
is "$(grep -c -F -e "$(awk '{ print $2 }' "$TEST_TMP/ow4.pub")" "$ak4")" 0 \
	"user4: no key from a drop-in directory writable by others"
is "$(keys_marker_count "$ak4")" "0 0" "user4: no approved block"
ok "user4: stderr alerts about $rel4" grep -q -F -e "$rel4: " "$TEST_TMP/fix.err"
is "$(grep -c -e 'ignoring' "$TEST_TMP/fix.err")" 3 "three alerts, each says it is ignored" ||
	diag "$(grep -v -F "$rel1:" "$TEST_TMP/fix.err")"

dropins_after=$(sandbox_snapshot etc/sshmend; cd "$SANDBOX" && find etc/sshmend -type f \
	-exec sha256sum {} + | LC_ALL=C sort)
is "$dropins_after" "$dropins_before" "fix changed nothing in the drop-in directory"

# check after fix: nothing left to do for the keys, and the same reports again.
"$SSHMEND" --root "$SANDBOX" check >"$TEST_TMP/check.out" 2>"$TEST_TMP/check.err" </dev/null
is "$?" 1 "check after fix exits 1: a bake gate does not pass a rejected drop-in"
is "$(grep -c -F -e "user1: $rel1:" "$TEST_TMP/check.out")" "$((nlines - 1))" \
	"check's report has a finding for each bad line" || diag "$(cat "$TEST_TMP/check.out")"
ok "... saying it is not written" grep -q -x -F -e "user1: $rel1:6: drop-in key rejected, not written: $(
	sed -n "s|^sshmend: $rel1:6: \(.*\): key rejected, not written\$|\1|p" "$TEST_TMP/check.err")" \
	"$TEST_TMP/check.out"
for rel in "$rel2" "$rel3" "$rel4"; do
	ok "check's report has a finding for the ignored $rel" grep -q -F -e ": $rel: drop-in ignored: " \
		"$TEST_TMP/check.out"
done
json=$("$SSHMEND" --root "$SANDBOX" check --json user1 2>/dev/null)
ok "check --json: a dropin finding with its path and line, refused" \
	grep -q -F -e "{\"path\":\"$rel1\",\"line\":6,\"problem\":\"dropin\",\"sshd_rejects\":false,\"action\":\"refused\",\"reason\":" <<<"$json" ||
	diag "$json"
ok "check after fix: no keys finding" test "$(grep -c 'approved keys' "$TEST_TMP/check.out")" -eq 0 ||
	diag "$(cat "$TEST_TMP/check.out")"
is "$(grep -c -F -e "$rel1:" "$TEST_TMP/check.err")" "$((nlines - 1))" \
	"check reports the bad lines too"

# --- The daemon's journal ------------------------------------------------------------------
keys_daemon_start --root "$SANDBOX"
ok "key-rejected entries logged" daemon_wait_count 10 "$((nlines - 2))" SSHMEND_EVENT=key-rejected
daemon_event_messages key-rejected >"$TEST_TMP/rejected.msg"
absent_n='' extra_n=''
for ((n = 1; n <= nlines; n++)); do
	c=$(grep -c -F -e "$rel1:$n: " "$TEST_TMP/rejected.msg")
	if [ -n "${want[$n]}" ]; then
		[ "$c" -eq 1 ] || absent_n+=" $n($c)"
	else
		[ "$c" -eq 0 ] || extra_n+=" $n"
	fi
done
is "$absent_n" "" "one key-rejected entry naming $rel1:N for every bad line" ||
	diag "$(cat "$TEST_TMP/rejected.msg")"
is "$extra_n" "" "no key-rejected entry for the good line"
e=$(daemon_events key-rejected | grep -F -e "$rel1:6: " | head -n 1)
is "$(journal_field "$e" PRIORITY)" 4 "key-rejected is a warning"
ok "dropin-ignored entries logged" daemon_wait_events 10 2 dropin-ignored
daemon_event_messages dropin-ignored >"$TEST_TMP/ignored.msg"
for rel in "$rel2" "$rel3" "$rel4"; do
	ok "dropin-ignored alert for $rel" grep -q -F -e "$rel: " "$TEST_TMP/ignored.msg"
	ok "... and no key-rejected one" test "$(grep -c -F -e "$rel: " "$TEST_TMP/rejected.msg")" -eq 0
done
leaked=
while IFS= read -r l; do
	case $l in -----*) continue ;; esac
	grep -q -F -e "${l:0:16}" "$TEST_TMP/rejected.msg" && leaked+=" ${l:0:16}..."
done <"$TEST_TMP/pasted"
is "$leaked" "" "the journal holds no part of the pasted private key"
is "$(keys_block "$ak1")" "$good" "user1: the daemon keeps the good key alone"

# Told once: a rescan of the same drop-ins does not log them again.
n0=$(daemon_event_count key-rejected)
chmod 0666 "$ak1"
ok "the daemon heals user1's authorized_keys again" wait_for 10 stat_is "$ak1" "20001 20001 0644"
sleep 0.5
is "$(daemon_event_count key-rejected)" "$n0" "the same rejections are not logged again"

daemon_expect_stop "the daemon exits 0 on SIGTERM"

done_testing
