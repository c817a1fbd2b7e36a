# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-selinux-*.sh scripts: a sandbox root judged by SELinux labels.
#
# selinux_require        skip the test unless sshmend was built with SELinux support, the
#                        reference policy's file contexts are installed (selinux-policy-default)
#                        and getfattr/setfattr are there.
# selinux_policy_into ROOT
#                        give ROOT the reference policy's file contexts and an etc/selinux/config
#                        that enforces it, as an image bake for an SELinux system would carry.
# label_of PATH          the security.selinux label of PATH (a symlink itself, not followed),
#                        empty when it has none.
# label_put PATH LABEL   set it (a symlink itself, not followed).
# type_of PATH           the type of label_of PATH.

SELINUX_FILES=/etc/selinux/default/contexts/files

selinux_require() {
	require_prog getfattr setfattr
	grep -q '^#define HAVE_SELINUX 1' "$top_builddir/build-config.h" 2>/dev/null ||
		skip_all "built without SELinux support (configure --with-selinux)"
	[ -r "$SELINUX_FILES/file_contexts" ] ||
		skip_all "no reference policy: $SELINUX_FILES/file_contexts (selinux-policy-default)"
}

selinux_policy_into() {
	local d=$1/etc/selinux/default/contexts/files
	mkdir -p "$d" &&
		cp "$SELINUX_FILES/file_contexts" "$SELINUX_FILES/file_contexts.homedirs" "$d/" &&
		printf 'SELINUX=enforcing\nSELINUXTYPE=default\n' >"$1/etc/selinux/config"
}

label_of() {
	getfattr -h --absolute-names --only-values -n security.selinux "$1" 2>/dev/null | tr -d '\0'
}

label_put() {
	setfattr -h -n security.selinux -v "$2" "$1"
}

type_of() {
	label_of "$1" | cut -d: -f3
}
