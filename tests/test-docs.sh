#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The man pages and the journal catalog say what the code does.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

man8="$top_srcdir/man/sshmend.8"
man5="$top_srcdir/man/sshmend.conf.5"
catalog="$top_srcdir/systemd/sshmend.catalog"

# Every configuration key the parser accepts is documented, in its section.
keys=$("$top_builddir/tests/list-config-keys")
ok "the parser lists its keys" test -n "$keys"
echo "$keys" | while read -r section key; do
	awk -v s="[$section]" -v k="$key" '
		/^\.Sh / { insec = (substr($0, 5) == s) }
		insec && $0 ~ "^\\.It Cm " k "=" { found = 1 }
		END { exit !found }' "$man5" || echo "$section.$key"
done >missing-keys.$$
is "$(cat missing-keys.$$)" "" "every configuration key appears in sshmend.conf(5) under its section"
rm -f missing-keys.$$

# Every command and option of --help is documented in sshmend(8).
help=$("$SSHMEND" --help)
for cmd in $(echo "$help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'); do
	ok "command $cmd in sshmend(8)" grep -q "^\.Cm $cmd\$" "$man8"
done
for opt in $(echo "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	ok "option $opt in sshmend(8)" grep -q -- "Fl -${opt#--}" "$man8"
done

# Every MESSAGE_ID of the code has a catalog entry, and journalctl can compile them.
ids=$(sed -n 's/.*X([A-Z_]*, "[a-z-]*", "\([0-9a-f]\{32\}\)").*/\1/p' "$top_srcdir/src/catalog-ids.h")
ok "the code defines message ids" test "$(echo "$ids" | wc -l)" -ge 9
for id in $ids; do
	ok "catalog entry for $id" grep -q "^-- $id\$" "$catalog"
done
if command -v journalctl >/dev/null 2>&1; then
	croot=$(mktemp -d)
	add_cleanup "rm -rf '$croot'"
	mkdir -p "$croot/usr/lib/systemd/catalog" "$croot/var/lib/systemd/catalog"
	cp "$catalog" "$croot/usr/lib/systemd/catalog/"
	ok "journalctl compiles the catalog" journalctl --root="$croot" --update-catalog
	listed=$(journalctl --root="$croot" --list-catalog 2>/dev/null)
	for id in $ids; do
		ok "journalctl lists $id" sh -c "echo '$listed' | grep -q '^$id'"
	done
fi

if command -v mandoc >/dev/null 2>&1; then
	ok "mandoc -Tlint finds no warning in sshmend(8)" mandoc -Tlint -W warning "$man8"
	ok "mandoc -Tlint finds no warning in sshmend.conf(5)" mandoc -Tlint -W warning "$man5"
	# Each optional argument in brackets of its own: "check [--json] [user ...]".
	nested=$(mandoc -Tascii "$man8" | col -b | grep -v "{" | grep -E '\[[^]]*\[' || true)
	is "$nested" "" "no brackets nest in sshmend(8)"
else
	diag "mandoc not installed: lint skipped"
fi
done_testing
