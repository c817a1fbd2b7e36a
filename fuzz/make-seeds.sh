#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fuzz/make-seeds.sh: (re)make the seed corpora of fuzz/corpus/ from keys made here with
# ssh-keygen and the shapes the unit tests use. Inputs that several files make are cut at NUL
# bytes (see each harness). Regression inputs (fuzz/corpus/NAME/regress-*) are kept as they are.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=corpus
for d in keys-line dropin keys-file sshd-config sshmend-conf users inotify sshd-log; do
	mkdir -p "$c/$d"
	find "$c/$d" -name 'seed-*' -delete
done

# Keys of every type sshd reads, a certificate, and the options sshd knows.
ssh-keygen -q -t ed25519 -N '' -C alice@host -f "$tmp/ed25519"
ssh-keygen -q -t rsa -b 2048 -N '' -C 'rsa key' -f "$tmp/rsa"
ssh-keygen -q -t rsa -b 1024 -N '' -f "$tmp/rsa1024"
for b in 256 384 521; do ssh-keygen -q -t ecdsa -b "$b" -N '' -f "$tmp/ecdsa$b"; done
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ca"
ssh-keygen -q -s "$tmp/ca" -I alice -n alice,root -V +52w -O force-command=/bin/true \
	-O source-address=10.0.0.0/8 "$tmp/ed25519.pub"
ssh-keygen -q -s "$tmp/ca" -I host -h "$tmp/ecdsa256.pub"
ed=$(<"$tmp/ed25519.pub") rsa=$(<"$tmp/rsa.pub") ca=$(<"$tmp/ca.pub")
n=0
# seed NAME FORMAT [ARG...]: the next seed of NAME, printf FORMAT ARG... (NUL bytes and all).
seed() {
	local d=$1
	shift
	n=$((n + 1))
	# shellcheck disable=SC2059 # the format is the seed
	printf "$@" >"$c/$d/seed-$(printf %03d "$n")"
}
for f in ed25519 rsa rsa1024 ecdsa256 ecdsa384 ecdsa521 ed25519-cert ecdsa256-cert ca; do
	seed keys-line '%s' "$(<"$tmp/$f.pub")"
done
while read -r opts; do
	seed keys-line '%s' "$opts $ed"
done <<'OPTS'
restrict,pty,command="echo \"hi\"",from="10.0.0.0/8,!10.1.2.3,*.example.com"
no-agent-forwarding,no-port-forwarding,no-pty,no-user-rc,no-X11-forwarding
environment="A=b",permitopen="host:22",permitlisten="localhost:8080",tunnel="1"
expiry-time="20301231",no-touch-required,verify-required,agent-forwarding
principals="alice,bob"
from=""
command="unterminated
OPTS
seed keys-line '%s' "cert-authority,principals=\"alice\" $ca"
seed keys-line '%s\r' "$ed"
seed keys-line '%s' "# a comment"
seed keys-line '%s' "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== truncated"
seed keys-line '%s' "ssh-dss AAAAB3NzaC1kc3MAAACBAP== old"
seed keys-line '%s' "$(awk '{ print $2 }' "$tmp/rsa.pub" | base64 -d | head -c 300 | base64 -w0)"

# Drop-in files: good keys, a duplicate, a certificate, bad lines; several files.
seed dropin '%s\n%s\n' "$ed" "$rsa"
seed dropin '# approved\n%s\n\n%s\nnot a key\n' "$ed" "$(<"$tmp/ed25519-cert.pub")"
seed dropin '%s\r\n%s\0%s\n' "$ed" "$rsa" "$ed"
seed dropin '%s\0%s\0bad-option %s\n' "$(<"$tmp/ecdsa256.pub")" "$ca" "$ed"

# Keys files: the user's lines and the managed block, then (after a NUL) a drop-in file.
begin='# sshmend: approved keys, managed from the drop-in directory; do not edit'
end='# sshmend: end of approved keys'
seed keys-file '%s\n# mine\n\0%s\n' "$rsa" "$ed"
seed keys-file '%s\n%s\n%s\n%s\n# after\0%s\n' "$rsa" "$begin" "$ed" "$end" "$ed"
seed keys-file '%s\r\n%s\r\nold\r\n%s\r\nlast' "$rsa" "$begin" "$end"
seed keys-file '%s\n%s\n%s\nx\n%s\n%s\n\0%s\n' "$begin" "$end" "$begin" "$end" "$end" "$rsa"
seed keys-file '%s\nno end\n\0%s\n' "$begin" "$ed"
seed keys-file 'no newline at the end\0%s\n' "$ed"

# sshd_config, then etc/ssh/sshd_config.d/10-a.conf, 20-b.conf and 30-c.
seed sshd-config '# comment\nInclude sshd_config.d/*.conf\nAuthorizedKeysFile .ssh/late\nStrictModes yes\n\0authorizedkeysfile="/etc/ssh/keys/%%u" %%h/.ssh/ak # trailing\nStrictModes no\n\0AuthorizedKeysFile .ssh/never\n'
seed sshd-config 'Match User alice\n  AuthorizedKeysFile /srv/keys/%%u none\nMatch Group admins\n  AuthorizedKeysFile .ssh/admin_keys\n'
seed sshd-config 'Port 22\nAuthorizedKeysFile "unbalanced\n'
seed sshd-config '\n\nStrictModes maybe\n'
seed sshd-config 'Include /etc/ssh/sshd_config.d/30-c\n\0\0\0Include sshd_config.d/*.conf\nAuthorizedKeysFile=%%h/.ssh/k %%U %%%%\n'
seed sshd-config 'Include\nAuthorizedKeysFile\n'

# sshmend.conf, then etc/sshmend/sshmend.conf.d/10-a.conf, 20-b.conf and 30-c.conf.
seed sshmend-conf '[Users]\nExclude=backup\nInclude=deploy\n\n[Policy]\nMode=strict\n\n[Daemon]\nRescanIntervalSec=1h 30min\n'
seed sshmend-conf '[Users]\nMinUID=1000\n[Policy]\nSshdFlavor=debian\nAuthorizedKeysFile=.ssh/authorized_keys %%h/.ssh/k\n\0[Keys]\nDropInDirectory=/etc/sshmend/keys.d\nMinRSABits=3072\nExclusive=yes\nExclusiveUsers=alice bob\n\0[Daemon]\nFallbackScanIntervalSec=30s\nFlapThreshold=5\nFlapWindowSec=10s\nFlapBackoffSec=1min\nFlapBackoffMaxSec=1h\n'
seed sshmend-conf '[Users]\nFrobnicate=1\n[Nope]\nX=1\n\0[Policy\n\0Mode=sshd\n'
seed sshmend-conf '[Users]\nExclude=\nExclude=c\n[Daemon]\n\nRescanIntervalSec=5 weeks 2d 1us\n'

# etc/passwd, etc/group, etc/login.defs.
seed users 'root:x:0:0:root:/root:/bin/bash\nuser1:x:1001:1001::/home/user1:/bin/bash\nuser2:x:1002:1002::/home/user2/:/usr/sbin/nologin\nsvc:x:999:999::/home/user1:/bin/sh\n+nis\n\0root:x:0:\nuser1:x:1001:\nadmins:x:2000:user1,user2,,nobody\nnogroup:x:65534:\n\0# login.defs\nUID_MIN\t\t 1000\nUID_MAX 60000\n'
seed users 'bad line\n:x:1:1::/:/bin/sh\nu:x:-1:0::/:/bin/sh\nv:x:4294967296:0::/h:\nw:x:12:12::/h:/bin/false\0g:x:abc:\n\0UID_MIN 500x\n'

# inotify events of one read() for the harness's watches (wd 1: home/alice, wd 2 and 3:
# home/alice/.ssh, wd 4: home).
python3 - "$c/inotify" <<'PY'
import struct, sys
def ev(wd, mask, name=b"", cookie=0):
    if name:
        name += b"\0"
        name += b"\0" * (-len(name) % 16)
    return struct.pack("iIII", wd, mask, cookie, len(name)) + name
IN_ATTRIB, IN_CREATE, IN_MOVED_TO, IN_IGNORED, IN_Q_OVERFLOW = 0x4, 0x100, 0x80, 0x8000, 0x4000
seeds = [
    ev(1, IN_ATTRIB, b".ssh") + ev(2, IN_ATTRIB, b"authorized_keys"),
    ev(2, IN_MOVED_TO, b"other", 7) + ev(1, IN_ATTRIB),
    ev(2, IN_IGNORED) + ev(2, IN_ATTRIB, b"authorized_keys") + ev(4, IN_ATTRIB),
    ev(-1, IN_Q_OVERFLOW) + ev(3, IN_CREATE, b"x"),
    ev(1, IN_ATTRIB, b".ssh")[:20],
]
for i, s in enumerate(seeds, 1):
    open(f"{sys.argv[1]}/seed-{i:03d}", "wb").write(s)
PY

# sshd's journal lines, each after one byte that picks the process (its value modulo 8): the
# lines of a wrong user, a wrong key, a StrictModes refusal and a login, as OpenSSH 9.2 and
# 10.0 write them at LogLevel VERBOSE, interleaved, and the lines of a scanner.
FP=SHA256:Vt0lYvxQp6Lr0XnVnXy2Fq0oC6mTm1w0oP3lQm3yqkE
seed sshd-log '0Connection from 127.0.0.1 port 37828 on 127.0.0.1 port 22 rdomain ""\n0Invalid user ubuntu from 127.0.0.1 port 37828\n0Connection closed by invalid user ubuntu 127.0.0.1 port 37828 [preauth]\n'
seed sshd-log "1Connection from 127.0.0.1 port 37830 on 127.0.0.1 port 22 rdomain \"\"\n2Connection from 10.0.0.9 port 50000 on 10.0.0.1 port 22 rdomain \"\"\n1Failed publickey for alice from 127.0.0.1 port 37830 ssh2: ED25519 $FP\n2Accepted publickey for bob from 10.0.0.9 port 50000 ssh2: ED25519 $FP\n1Connection closed by authenticating user alice 127.0.0.1 port 37830 [preauth]\n"
seed sshd-log '3Authentication refused: bad ownership or modes for directory /home/alice\n3Connection closed by authenticating user alice 10.0.0.9 port 1 [preauth]\n4User bob from 10.0.0.9 not allowed because listed in DenyUsers\n4Disconnected from invalid user bob 10.0.0.9 port 2 [preauth]\n'
seed sshd-log '5userauth_pubkey: signature algorithm ssh-rsa not in PubkeyAcceptedAlgorithms [preauth]\n5Timeout before authentication for 198.51.100.7 port 4244\n6ROOT LOGIN REFUSED FROM 2001:db8::5 port 6000\n6Connection reset by 2001:db8::5 port 6000 [preauth]\n'
