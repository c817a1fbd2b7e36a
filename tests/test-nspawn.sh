#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packages, for real: build the .deb from this tree (from a copy made by make distdir),
# check it with lintian, build the RPM from the same sources and compare the files both install,
# then install the .deb into a minimal Debian 12 root and boot that root with systemd-nspawn. A
# oneshot unit in the container runs the checks after sshmend.service has started, writes what
# it found to /results and powers off; each of its findings becomes a TAP line here.
#
# The root is a debootstrap --variant=minbase of this host's release (Debian 12 here), cached as
# a tarball in /var/cache/sshmend-tests/ (delete it to build it afresh). The mirror is the one
# apt on this machine uses for that release; set SSHMEND_TEST_MIRROR to use another.
# SSHMEND_TEST_KEEP=1 keeps the work directory (packages, logs, the container's journal) and
# names it. Package builds leave this test out: debian/rules and sshmend.spec run
# make check PACKAGING_TESTS=.
# shellcheck disable=SC2317 # functions run through ok
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/debroot.sh"

require_root

# The container runs the host's own release (bookworm on Debian 12), so that the .deb built
# here fits it.
SUITE=$(debroot_host_suite)
INCLUDE=systemd,systemd-sysv,dbus,openssh-server,passwd,man-db
BOOT_TIMEOUT=240
TEST_USER=alice

# --- tools -------------------------------------------------------------------------------------
missing=
for p in make tar dpkg-buildpackage dpkg-deb dh fakeroot lintian rpmbuild rpm debootstrap \
	systemd-nspawn timeout flock sha256sum; do
	command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if ! ok "the packaging tools are installed (./quickstart test installs them)" test -z "$missing"; then
	diag "missing:$missing"
	done_testing
fi

work=$(mktemp -d /var/tmp/sshmend-nspawn.XXXXXX)
if [ "${SSHMEND_TEST_KEEP:-0}" = 1 ]; then
	diag "work directory kept: $work"
else
	add_cleanup "rm -rf --one-file-system '$work'"
fi
mkdir -p "$work/src" "$work/pkg" "$work/results" "$work/rpm/SOURCES"
root=$work/root
started=$SECONDS

show_log() { # show_log FILE [LINES]: the end of a log as diagnostics
	[ -f "$1" ] && diag "--- last lines of $(basename "$1"):" && diag "$(tail -n "${2:-25}" "$1")"
	return 0
}

# --- versions ----------------------------------------------------------------------------------
ver=$(sed -n 's/^AC_INIT(\[sshmend\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
deb_ver=$(sed -n '1s/^sshmend (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog")
rpm_ver=$(sed -n 's/^Version: *//p' "$top_srcdir/sshmend.spec")
ok "configure.ac gives a version ($ver)" test -n "$ver"
is "${deb_ver%-*}" "$ver" "debian/changelog packages version $ver"
is "$rpm_ver" "$ver" "sshmend.spec packages version $ver"

# --- the root: debootstrapped once, then taken from the cache (in the background) ---------------
arch=$(dpkg --print-architecture)
mirror=$(debroot_mirror "$SUITE")
if ! ok "a mirror for $SUITE is known (apt's sources or SSHMEND_TEST_MIRROR)" test -n "$mirror"; then
	done_testing
fi
make_root() { debroot_make "$root" "$SUITE" "$INCLUDE"; }
make_root >"$work/root.log" 2>&1 &
root_job=$!
add_cleanup "kill $root_job 2>/dev/null; wait $root_job 2>/dev/null"

# --- a copy of the tree, and its tarball -------------------------------------------------------
copy_tree() {
	(unset MAKEFLAGS MFLAGS MAKELEVEL &&
		make -s -C "$top_builddir" distdir distdir="$work/src/sshmend-$ver") &&
		tar -C "$work/src" -czf "$work/rpm/SOURCES/sshmend-$ver.tar.gz" "sshmend-$ver"
}
if ! ok "make distdir copies the tree, with debian/ and sshmend.spec" copy_tree; then
	wait "$root_job"
	done_testing
fi
ok "the copy has debian/rules and sshmend.spec" \
	test -x "$work/src/sshmend-$ver/debian/rules" -a -f "$work/src/sshmend-$ver/sshmend.spec"

# --- the RPM, built in the background while the .deb builds ------------------------------------
# Debian's rpm: no BuildRequires check, and systemd's macros are defined here.
cat >"$work/rpm/macros" <<'EOF'
%_unitdir /usr/lib/systemd/system
%_journalcatalogdir /usr/lib/systemd/catalog
%systemd_requires %{nil}
%systemd_post() : systemd_post %{?*}
%systemd_preun() : systemd_preun %{?*}
%systemd_postun_with_restart() : systemd_postun_with_restart %{?*}
EOF
build_rpm() {
	(unset MAKEFLAGS MFLAGS MAKELEVEL &&
		rpmbuild -tb --nodeps --nocheck \
			--define "_topdir $work/rpm" --define "_tmppath $work/rpm/tmp" \
			--define "debug_package %{nil}" --load "$work/rpm/macros" \
			"$work/rpm/SOURCES/sshmend-$ver.tar.gz") >"$work/rpm-build.log" 2>&1
}
mkdir -p "$work/rpm/tmp"
build_rpm &
rpm_job=$!
add_cleanup "kill $rpm_job 2>/dev/null; wait $rpm_job 2>/dev/null"

# --- the .deb ----------------------------------------------------------------------------------
build_deb() {
	(cd "$work/src/sshmend-$ver" &&
		unset MAKEFLAGS MFLAGS MAKELEVEL &&
		DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
		>"$work/deb-build.log" 2>&1
}
ok "dpkg-buildpackage -us -uc -b builds the package" build_deb || show_log "$work/deb-build.log" 40
deb=$(find "$work/src" -maxdepth 1 -name "sshmend_${ver}-*_$arch.deb" | head -1)
if ! ok "it made sshmend_${ver}-*_$arch.deb" test -n "$deb"; then
	wait "$root_job" "$rpm_job"
	done_testing
fi
cp "$deb" "$work/pkg/"

deb_files=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e '/\/$/d' | sort)
diag "$(printf 'the .deb holds:\n%s' "$deb_files")"
for f in /usr/sbin/sshmend /lib/systemd/system/sshmend.service \
	/usr/lib/systemd/catalog/sshmend.catalog /usr/share/man/man8/sshmend.8.gz \
	/usr/share/man/man5/sshmend.conf.5.gz; do
	ok "the .deb installs $f" grep -qxF "$f" <<<"$deb_files"
done
postinst=$(dpkg-deb -I "$deb" postinst 2>/dev/null)
ok "its postinst enables sshmend.service" grep -q "deb-systemd-helper.*enable.*sshmend.service" <<<"$postinst"
ok "its postinst starts sshmend.service" grep -q "deb-systemd-invoke .*sshmend.service" <<<"$postinst"
depends=$(dpkg-deb -f "$deb" Depends)
ok "its Depends come from shlibs: $depends" grep -q 'libc6.*libsystemd0\|libsystemd0.*libc6' <<<"$depends"

lintian_out=$(lintian --fail-on error "$deb" 2>&1)
lintian_rc=$?
ok "lintian finds no error in the .deb" test "$lintian_rc" -eq 0
[ -n "$lintian_out" ] && diag "$(printf 'lintian:\n%s' "$lintian_out")"

# --- the RPM -----------------------------------------------------------------------------------
rpm_rc=0
wait "$rpm_job" || rpm_rc=$?
ok "rpmbuild -tb builds the RPM from the release tarball" test "$rpm_rc" -eq 0 || show_log "$work/rpm-build.log" 40
rpmfile=$(find "$work/rpm/RPMS" -name "sshmend-$ver-*.rpm" 2>/dev/null | head -1)
if ok "it made sshmend-$ver-*.rpm" test -n "$rpmfile"; then
	# Same files, up to merged /usr (/lib is /usr/lib), man page compression, documentation and
	# packaging-only paths.
	normalize() {
		sed -e 's|^/lib/|/usr/lib/|' -e 's/\.\(gz\|xz\|bz2\|zst\)$//' |
			grep -v -e '^/usr/share/doc/' -e '^/usr/share/licenses/' -e '^/usr/share/lintian/' \
				-e '^/usr/lib/\.build-id' |
			sort -u
	}
	rpm_files=$(rpm -qlp "$rpmfile" 2>/dev/null)
	diag "$(printf 'the RPM holds:\n%s' "$rpm_files")"
	files_diff=$(diff <(normalize <<<"$deb_files") <(normalize <<<"$rpm_files"))
	is "$files_diff" "" "the RPM and the .deb install the same files"
	scripts=$(rpm -qp --scripts "$rpmfile" 2>/dev/null)
	for m in systemd_post systemd_preun systemd_postun_with_restart; do
		ok "the RPM's scriptlets run %$m sshmend.service" grep -q ": $m sshmend.service" <<<"$scripts"
	done
fi

# --- the container -----------------------------------------------------------------------------
root_rc=0
wait "$root_job" || root_rc=$?
if ! ok "the $SUITE root is ready (debootstrap or cache)" test "$root_rc" -eq 0; then
	show_log "$work/root.log" 40
	done_testing
fi
diag "$(head -1 "$work/root.log")"

# What runs in the container once booted: one line per check in /results/checks,
# "PASS description" or "FAIL description" followed by "# detail" lines, then "DONE".
mkdir -p "$root/usr/local/libexec"
cat >"$root/usr/local/libexec/sshmend-boot-test" <<'EOF'
#!/bin/bash
# Checks sshmend.service from inside the booted container, then powers off.
U=$1
R=/results/checks
: >"$R"
pass() { echo "PASS $1" >>"$R"; }
fail() {
	echo "FAIL $1" >>"$R"
	shift
	[ -n "$*" ] && printf '%s\n' "$*" | head -n 40 | sed 's/^/# /' >>"$R"
	return 0
}
check() { # check DESC CMD...: PASS if CMD succeeds; its output is the detail otherwise
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$out"; fi
}
until_ok() { # until_ok SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
show() { systemctl show -p "$1" --value sshmend.service; }
equals() { # equals GOT WANT: prints both when they differ
	[ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }
}
events() { # events NAME: SSHMEND_PATH of this boot's entries of that event, one per line
	journalctl -b -u sshmend.service -o verbose --output-fields=SSHMEND_PATH \
		SSHMEND_EVENT="$1" | sed -n 's/^ *SSHMEND_PATH=//p'
}
has_event() { events "$1" | grep -qxF "$2"; }
count() { journalctl -b -u sshmend.service -o cat SSHMEND_EVENT="$1" | wc -l; }

# Started, by its own enablement, and READY sent: Type=notify is active only after READY=1.
check "sshmend.service is enabled" equals "$(systemctl is-enabled sshmend.service)" enabled
until_ok 30 systemctl is-active --quiet sshmend.service
check "sshmend.service is active (running)" \
	equals "$(show ActiveState)/$(show SubState)" active/running
check "systemctl status says active (running)" \
	sh -c 'systemctl status --no-pager sshmend.service | grep -q "Active: active (running)"'
status=$(show StatusText)
check "its StatusText is set: '$status'" \
	sh -c 'echo "$1" | grep -Eq "^watching 2 users, [0-9]+ paths, [0-9]+ repairs?"' _ "$status"
check "it logged a started entry" test "$(count started)" -ge 1
pid=$(show MainPID)

# The hardening the unit asks for is in force on the running process.
check "its capability bounding set is CAP_CHOWN CAP_DAC_READ_SEARCH CAP_FOWNER CAP_LEASE" \
	equals "$(sed -n 's/^CapBnd:\t//p' /proc/"$pid"/status)" 000000001000000d
check "it runs with no_new_privs" equals "$(sed -n 's/^NoNewPrivs:\t//p' /proc/"$pid"/status)" 1
check "it runs under a seccomp filter" equals "$(sed -n 's/^Seccomp:\t//p' /proc/"$pid"/status)" 2
for d in /usr /etc; do
	check "$d is read-only in its mount namespace (ProtectSystem=full)" \
		sh -c '! nsenter -t "$1" -m touch "$2/.sshmend-probe" 2>/dev/null' _ "$pid" "$d"
done
# RuntimeDirectory=: the socket sshmend why asks, root's alone.
check "why's socket /run/sshmend/why.sock is there, 0600 in a directory 0700, root's" \
	equals "$(stat -c '%u %a' /run/sshmend/why.sock /run/sshmend 2>&1 | tr '\n' ' ')" "0 600 0 700 "
for d in /home /root; do
	check "$d is writable in its mount namespace" \
		sh -c 'nsenter -t "$1" -m touch "$2/.sshmend-probe" && rm "$2/.sshmend-probe"' _ "$pid" "$d"
done

# Drift is healed, and the repairs are in the journal with their catalog text.
chmod 777 "/home/$U"
check "chmod 777 /home/$U is healed" until_ok 10 sh -c '[ "$(stat -c %a "$1")" = 755 ]' _ "/home/$U"
chown nobody /root/.ssh
check "chown nobody /root/.ssh is healed" until_ok 10 sh -c '[ "$(stat -c %U /root/.ssh)" = root ]'
chmod 775 /
check "chmod 775 / is healed (/ must not be read-only for the service)" \
	until_ok 10 sh -c '[ "$(stat -c %a /)" = 755 ]'
check "SSHMEND_EVENT=drift-repaired entry for /home/$U" until_ok 10 has_event drift-repaired "/home/$U"
check "SSHMEND_EVENT=drift-repaired entry for /root/.ssh" until_ok 10 has_event drift-repaired /root/.ssh
check "the entries carry MESSAGE_ID fd0c73482cc34187b09f475469070f45" \
	sh -c 'journalctl -b -u sshmend.service -o verbose SSHMEND_EVENT=drift-repaired |
		grep -q "MESSAGE_ID=fd0c73482cc34187b09f475469070f45"'
check "the catalog is compiled (journalctl --list-catalog)" \
	sh -c 'journalctl --list-catalog | grep -q "^fd0c73482cc34187b09f475469070f45"'
xout=$(journalctl -b -x --no-pager -u sshmend.service SSHMEND_EVENT=drift-repaired 2>&1)
check "journalctl -x shows the catalog subject for /home/$U" \
	grep -qF "Subject: sshmend repaired /home/$U for $U" <<<"$xout"
check "journalctl -x shows the catalog text" grep -q "had drifted and was restored" <<<"$xout"

# Reload: same process, a reloaded entry, still running and still healing.
check "systemctl reload sshmend succeeds" systemctl reload sshmend.service
check "after the reload it is active (running)" \
	equals "$(show ActiveState)/$(show SubState)" active/running
check "the reload kept the main process" equals "$(show MainPID)" "$pid"
check "it logged a reloaded entry" until_ok 10 sh -c '[ "$(journalctl -b -u sshmend.service -o cat SSHMEND_EVENT=reloaded | wc -l)" -ge 1 ]'
chmod 775 "/home/$U/.ssh"
check "after the reload, chmod 775 ~$U/.ssh is healed" \
	until_ok 10 sh -c '[ "$(stat -c %a "$1")" = 755 ] || [ "$(stat -c %a "$1")" = 700 ]' _ "/home/$U/.ssh"

# The unit itself.
sec=$(systemd-analyze security --no-pager sshmend.service 2>&1)
exposure=$(sed -n 's/.*Overall exposure level for sshmend.service: \([0-9.]*\).*/\1/p' <<<"$sec")
echo "$exposure" >/results/exposure
check "systemd-analyze security: exposure $exposure <= 2.0" \
	awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }'
unit=$(systemctl show -p FragmentPath --value sshmend.service)
verify=$(systemd-analyze verify "$unit" 2>&1)
check "systemd-analyze verify $unit prints nothing" equals "$verify" ""

# Stop: clean exit, a stopping entry, nothing failed.
check "systemctl stop sshmend succeeds" systemctl stop sshmend.service
check "after the stop it is inactive (dead) with result success" \
	equals "$(show ActiveState)/$(show SubState)/$(show Result)" inactive/dead/success
check "it logged a stopping entry" until_ok 10 sh -c '[ "$(journalctl -b -u sshmend.service -o cat SSHMEND_EVENT=stopping | wc -l)" -ge 1 ]'
check "systemctl --failed lists no unit" equals "$(systemctl --failed --plain --no-legend)" ""

# Removal stops and disables it; installing on a running system enables and starts it.
check "dpkg --purge sshmend succeeds" dpkg --purge sshmend
check "after the purge the unit is gone" \
	sh -c '! systemctl cat sshmend.service >/dev/null 2>&1'
check "after the purge its state directory /var/lib/sshmend is gone" test ! -e /var/lib/sshmend
check "dpkg -i installs the package again" sh -c 'dpkg -i /pkg/sshmend_*.deb'
check "the fresh install enabled sshmend.service" \
	equals "$(systemctl is-enabled sshmend.service)" enabled
check "the fresh install started sshmend.service" until_ok 10 systemctl is-active --quiet sshmend.service
check "systemctl --failed still lists no unit" equals "$(systemctl --failed --plain --no-legend)" ""

journalctl -b --no-pager -o short-monotonic >/results/journal.txt 2>&1
echo DONE >>"$R"
systemctl poweroff --no-block
EOF
chmod 0755 "$root/usr/local/libexec/sshmend-boot-test"
cat >"$root/etc/systemd/system/sshmend-boot-test.service" <<EOF
[Unit]
Description=Check sshmend.service, then power off
After=sshmend.service multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/libexec/sshmend-boot-test $TEST_USER
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF

# Install the .deb offline (its postinst enables the unit; systemd's trigger compiles the
# catalog), add a login user with keys, enable the test unit.
cat >"$root/root/prepare.sh" <<EOF
set -e
export DEBIAN_FRONTEND=noninteractive
dpkg -i /pkg/$(basename "$deb") || apt-get -f install -y
useradd -m -s /bin/bash $TEST_USER
install -d -m 0700 -o $TEST_USER -g $TEST_USER /home/$TEST_USER/.ssh /root/.ssh
ssh-keygen -q -t ed25519 -N '' -C test -f /root/test-key
key=\$(cat /root/test-key.pub)
echo "\$key" >/home/$TEST_USER/.ssh/authorized_keys
chown $TEST_USER:$TEST_USER /home/$TEST_USER/.ssh/authorized_keys
chmod 0600 /home/$TEST_USER/.ssh/authorized_keys
echo "\$key" >/root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
systemctl enable sshmend-boot-test.service
systemctl is-enabled sshmend.service
EOF
nspawn() {
	systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe \
		--bind-ro="$work/pkg:/pkg" "$@" </dev/null
}
prepare() { nspawn /bin/bash /root/prepare.sh >"$work/prepare.log" 2>&1; }
ok "the .deb installs into the root, with a user $TEST_USER" prepare || show_log "$work/prepare.log" 40

boot() {
	timeout --kill-after=15 "$BOOT_TIMEOUT" \
		systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe -b \
		--bind-ro="$work/pkg:/pkg" --bind="$work/results:/results" </dev/null >"$work/boot.log" 2>&1
}
boot_start=$SECONDS
ok "the container boots and powers off within ${BOOT_TIMEOUT}s" boot || show_log "$work/boot.log" 40
diag "boot to power-off took $((SECONDS - boot_start))s"

checks=$work/results/checks
if ok "the checks in the container ran to the end" grep -qx DONE "$checks"; then :; else
	show_log "$work/results/journal.txt" 60
fi
if [ -f "$checks" ]; then
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "container: ${line#PASS }" true ;;
		"FAIL "*) ok "container: ${line#FAIL }" false ;;
		"# "*) diag "${line#\# }" ;;
		esac
	done <"$checks"
fi
[ -s "$work/results/exposure" ] && diag "systemd-analyze security sshmend: exposure $(cat "$work/results/exposure")"
diag "test took $((SECONDS - started))s"
done_testing
