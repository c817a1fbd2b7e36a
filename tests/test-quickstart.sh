#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ./quickstart install compiles the journal catalog after installing, as the packages do, so that
# journalctl -x explains the entries the README shows: update_catalog compiles a root's catalog
# with journalctl, and do_install runs it once make install has put sshmend.catalog in place.
# shellcheck disable=SC2317 # functions run through ok
# shellcheck disable=SC2016 # the sed script matches a literal "$build"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"

require_prog journalctl

# Sourced, quickstart defines its functions and runs nothing.
# shellcheck source=quickstart
. "$top_srcdir/quickstart"
defined() { declare -F "$1" >/dev/null; }
ok "quickstart defines update_catalog" defined update_catalog

croot=$(mktemp -d)
add_cleanup "rm -rf '$croot'"
mkdir -p "$croot/usr/lib/systemd/catalog" "$croot/var/lib/systemd/catalog"
cp "$top_srcdir/systemd/sshmend.catalog" "$croot/usr/lib/systemd/catalog/"
ok "update_catalog ROOT compiles ROOT's catalog" update_catalog "$croot"
ok "the compiled database is there" test -s "$croot/var/lib/systemd/catalog/database"
id=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$top_srcdir/systemd/sshmend.catalog" | head -n 1)
listed() { journalctl --root="$croot" --list-catalog "$id" 2>/dev/null | grep -q "^$id"; }
ok "journalctl finds sshmend's entry $id in it" listed

# do_install: make install first, then the catalog.
order=$(declare -f do_install | sed -n -e 's/.*make -C "$build" install.*/install/p' \
	-e 's/^ *update_catalog.*/catalog/p' | tr '\n' ' ')
is "$order" "install catalog " "do_install compiles the catalog after make install"

done_testing
