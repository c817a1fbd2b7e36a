# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# A minimal Debian root, debootstrapped once and then taken from a cached tarball. Source it after
# tap.sh; making a root needs root.
#
# debroot_host_suite
#                  print this host's release codename (bookworm on Debian 12).
# debroot_mirror SUITE
#                  print the Debian mirror to fetch SUITE from: $SSHMEND_TEST_MIRROR if set, else
#                  the first apt source of SUITE itself (not SUITE-updates or SUITE-security),
#                  else that of this host's release (the same mirror serves every suite).
# debroot_cache SUITE INCLUDE
#                  print the path of the cached tarball for SUITE with the packages INCLUDE
#                  (debootstrap's comma-separated --include list), in $DEBROOT_CACHE_DIR.
# debroot_make ROOT SUITE INCLUDE
#                  fill the directory ROOT with a --variant=minbase root of SUITE with INCLUDE:
#                  extracted from the cached tarball, or debootstrapped from debroot_mirror and
#                  then cached. Delete the tarball to build it afresh. One run builds a given
#                  tarball at a time; the others wait for it. Prints what it did.

: "${DEBROOT_CACHE_DIR:=/var/cache/sshmend-tests}"
DEBROOT_TAR_FLAGS=(--numeric-owner --xattrs --xattrs-include='*')

debroot_host_suite() {
	local suite
	suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	echo "${suite:-bookworm}"
}

# _debroot_apt_uri SUITE: the URI of the first apt source of SUITE, if any.
_debroot_apt_uri() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$1" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
			if ($i ~ /^\[/ || $i ~ /\]$/) i++
			if ($(i + 1) == s) { print $i; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$1" '
			function flush() { if (deb && uri != "" && suite) { print uri; exit } deb = suite = 0; uri = "" }
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) suite = 1 }
			END { flush() }' "$f"
	done
}

debroot_mirror() {
	if [ -n "${SSHMEND_TEST_MIRROR:-}" ]; then
		echo "$SSHMEND_TEST_MIRROR"
		return
	fi
	local uri
	uri=$(_debroot_apt_uri "$1" | head -n 1)
	[ -n "$uri" ] || uri=$(_debroot_apt_uri "$(debroot_host_suite)" | head -n 1)
	echo "$uri"
}

debroot_cache() {
	local arch key
	arch=$(dpkg --print-architecture)
	key=$(printf '%s\n' "$1" "$arch" minbase "$2" | sha256sum | cut -c1-12)
	echo "$DEBROOT_CACHE_DIR/debian-$1-$arch-minbase-$key.tar"
}

debroot_make() {
	local root=$1 suite=$2 include=$3 cached mirror rc
	cached=$(debroot_cache "$suite" "$include")
	mkdir -p "$DEBROOT_CACHE_DIR" "$root" || return 1
	(
		exec 9>"$cached.lock"
		flock 9
		if [ -f "$cached" ]; then
			echo "extracting $cached"
			exec tar -C "$root" "${DEBROOT_TAR_FLAGS[@]}" -xpf "$cached"
		fi
		mirror=$(debroot_mirror "$suite")
		if [ -z "$mirror" ]; then
			echo "no mirror for $suite: no apt source, and SSHMEND_TEST_MIRROR is not set"
			exit 1
		fi
		echo "debootstrap $suite from $mirror"
		debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" || exit 1
		rm -rf "${root:?}"/var/cache/apt/archives/*.deb
		tar -C "$root" "${DEBROOT_TAR_FLAGS[@]}" -cpf "$cached.partial" . &&
			mv "$cached.partial" "$cached"
	)
	rc=$?
	# The root of a system is 0755, whatever made the directory it was unpacked to.
	[ "$rc" -ne 0 ] || chmod 0755 "$root"
	return "$rc"
}
