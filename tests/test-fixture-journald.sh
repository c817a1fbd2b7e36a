#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/lib/journald.sh: entries sent to the journal (native protocol and stdout stream)
# come back by field, and journal_field decodes journalctl's JSON.
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/journald.sh"

require_root
require_prog logger systemd-cat journalctl
journald_setup "$@"

case ${JOURNAL_PRIVATE:-} in
0 | 1) ok "JOURNAL_PRIVATE is $JOURNAL_PRIVATE" true ;;
*) ok "JOURNAL_PRIVATE is 0 or 1 (it is '${JOURNAL_PRIVATE:-}')" false ;;
esac
ok "the journal socket is there" test -S /run/systemd/journal/socket

# mount_fstype DIR: the type of the file system mounted on DIR (the last mount there wins).
mount_fstype() {
	awk -v d="$1" '$5 == d { for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break } } END { print t }' \
		/proc/self/mountinfo
}
json_object() { [[ $1 == "{"*"}" ]]; }

if [ "$JOURNAL_PRIVATE" = 1 ]; then
	ok "the private journald runs" kill -0 "$JOURNALD_PID"
	for d in /run/systemd/journal /run/log/journal /var/log/journal; do
		is "$(mount_fstype "$d")" tmpfs "$d is a tmpfs in our namespace"
	done
	ok "the host's mount namespace is not ours" \
		test "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)"
fi

tag=sshmend-fixture-$$-$RANDOM
id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# Native protocol, with a custom field.
logger --journald <<LOG
MESSAGE=hello from the journald fixture
SYSLOG_IDENTIFIER=$tag
SSHMEND_TEST_ID=$id
LOG
ok "journal_wait finds the entry by its custom field" journal_wait 10 "SSHMEND_TEST_ID=$id"
entries=$(journal_query "SSHMEND_TEST_ID=$id")
is "$(printf '%s\n' "$entries" | grep -c .)" 1 "journal_query prints exactly one line for it"
ok "the line is JSON from journalctl" json_object "$entries"
is "$(journal_field "$entries" MESSAGE)" "hello from the journald fixture" "journal_field MESSAGE"
is "$(journal_field "$entries" SSHMEND_TEST_ID)" "$id" "journal_field on the custom field"
is "$(journal_field "$entries" SYSLOG_IDENTIFIER)" "$tag" "journal_field SYSLOG_IDENTIFIER"
rc=0
journal_field "$entries" NO_SUCH_FIELD >/dev/null || rc=$?
is "$rc" 1 "journal_field returns 1 for a missing field"
is "$(journal_query "SSHMEND_TEST_ID=$id" "SYSLOG_IDENTIFIER=$tag" | grep -c .)" 1 \
	"two different fields must both match"
is "$(journal_query "SSHMEND_TEST_ID=$id" "SYSLOG_IDENTIFIER=other-$tag" | grep -c .)" 0 \
	"a second field that does not match finds nothing"
is "$(journal_query "SSHMEND_TEST_ID=not-$id" | grep -c .)" 0 "another value finds nothing"

start=$(date +%s%N)
rc=0
journal_wait 1 "SSHMEND_TEST_ID=not-$id" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 1 "journal_wait returns 1 when nothing comes"
ok "after about its timeout ($ms ms)" test "$ms" -ge 900 -a "$ms" -lt 10000

# A stdout stream (systemd-cat), the way a service's output arrives.
echo "streamed $id" | systemd-cat -t "$tag-cat" -p warning
ok "journal_wait finds a systemd-cat line by SYSLOG_IDENTIFIER" journal_wait 10 "SYSLOG_IDENTIFIER=$tag-cat"
line=$(journal_query "SYSLOG_IDENTIFIER=$tag-cat" | tail -n 1)
is "$(journal_field "$line" MESSAGE)" "streamed $id" "its MESSAGE"
is "$(journal_field "$line" PRIORITY)" 4 "its PRIORITY"
is "$(journal_field "$line" _TRANSPORT)" stdout "its _TRANSPORT"

# journal_field on JSON shapes journalctl produces: escapes, binary data, several values, null.
json='{"A":"x \"q\" \\ y","MESSAGE":"tab\there","BIN":[104,105,10,33],"MULTI":["one","two"],"N":null,"__CURSOR":"s=1;i=2","Z":"end"}'
is "$(journal_field "$json" A)" 'x "q" \ y' "journal_field decodes \\\" and \\\\"
is "$(journal_field "$json" MESSAGE)" "$(printf 'tab\there')" "journal_field decodes \\t"
is "$(journal_field "$json" BIN)" "$(printf 'hi\n!')" "journal_field decodes a byte array"
is "$(journal_field "$json" MULTI)" "one
two" "journal_field prints each of several values on its own line"
is "$(journal_field "$json" Z)" end "journal_field finds the field after those"
is "$(journal_field "$json" __CURSOR)" "s=1;i=2" "journal_field on __CURSOR"
is "$(journal_field '{"M":"caf\u00e9 \u001b"}' M)" "$(printf 'caf\303\251 \033')" "journal_field decodes \\u escapes"
is "$(journal_field '{"AB":"no","B":"yes"}' B)" yes "journal_field matches whole field names"

done_testing
