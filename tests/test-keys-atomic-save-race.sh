#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 22, against "sshmend --root SANDBOX daemon" writing approved keys.
#
# The user's own tool saves authorized_keys atomically, as editors and configuration tools
# do: it reads the file, drops the approved block (the tool writes "its" list), adds a line,
# writes a temporary file and renames it over authorized_keys. Meanwhile the drop-in directory
# changes again and again, so the daemon rewrites the file too. A rewrite that checked the name
# and then renamed over it would overwrite a save that landed between the two: the user's
# newest line would be gone. Afterwards every line the user saved is there, once.
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog perl sort comm

SAVES=${KEYS_SAVES:-3000}
sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
dropdir=$(keys_dropin_dir user1)
for k in permanent toggled; do
	keys_gen "$k" || bail "ssh-keygen failed"
done
permanent=$(keys_pub permanent)
keys_dropin_put user1 10-permanent.pub "$permanent"
# A save a millisecond that drops the block is a fight (scenario 8): the race is what is tested
# here, so the daemon must not back off from it.
sandbox_config '[Daemon]' FlapThreshold=1000000
keys_daemon_start --root "$SANDBOX"
ok "the permanent key is synced" wait_until 10 '[ "$(keys_block "$ak")" = "$permanent" ]'

# The user's saves, 1 ms apart.
setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups -- perl -e '
	my ($ak, $n, $begin, $end) = @ARGV;
	(my $dir = $ak) =~ s{/[^/]*$}{};
	for my $i (1 .. $n) {
		my @out;
		if (open(my $in, "<", $ak)) {
			my $block = 0;
			while (my $l = <$in>) {
				chomp $l;
				if ($l eq $begin) { $block = 1; next }
				if ($l eq $end) { $block = 0; next }
				push @out, $l unless $block;
			}
		}
		push @out, "# save $i";
		open(my $out, ">", "$dir/.tool.tmp") or die "$!";
		print $out join("\n", @out), "\n";
		close($out) or die "$!";
		rename("$dir/.tool.tmp", $ak) or die "$!";
		select(undef, undef, undef, 0.001);
	}' "$ak" "$SAVES" "$KEYS_BEGIN" "$KEYS_END" </dev/null 2>"$TEST_TMP/saver.err" &
saver=$!
add_cleanup "kill -KILL $saver 2>/dev/null; wait $saver 2>/dev/null"

# The drop-in changes meanwhile, 2 ms apart, until the saver is done.
perl -e '
	my ($file, $line, $pid) = @ARGV;
	umask 022;
	for (my $t = 1; kill(0, $pid); $t++) {
		if ($t % 2) {
			open(my $fh, ">", $file) or die "$file: $!";
			print $fh "$line\n";
			close($fh) or die "$file: $!";
		} else {
			unlink($file);
		}
		select(undef, undef, undef, 0.002);
	}' "$dropdir/20-toggled.pub" "$(keys_pub toggled)" "$saver"
wait "$saver"
is "$?" 0 "the user's $SAVES saves all went through" || diag "$(cat "$TEST_TMP/saver.err")"
rm -f "$dropdir/20-toggled.pub"
ok "the block settles to the final drop-in" \
	wait_until 20 '[ "$(keys_block "$ak")" = "$permanent" ]'
sleep 1
daemon_expect_stop "the daemon exits 0 on SIGTERM"

# Each save holds every earlier line: the last one the file shows must be the last saved,
# and every line up to it must be there once.
grep '^# save ' "$ak" | LC_ALL=C sort -u >"$TEST_TMP/got"
seq -f '# save %.0f' 1 "$SAVES" | LC_ALL=C sort >"$TEST_TMP/want"
lost=$(comm -23 "$TEST_TMP/want" "$TEST_TMP/got" | wc -l)
is "$lost" 0 "no saved line is lost" ||
	diag "first missing: $(comm -23 "$TEST_TMP/want" "$TEST_TMP/got" | head -n 5 | tr '\n' ' ')"
is "$(grep -c '^# save ' "$ak")" "$SAVES" "each saved line is there once"
left=$(cd "$SANDBOX" && find . -name '*.sshmend-*' | wc -l)
is "$left" 0 "no temporary file of the daemon's is left"
done_testing
