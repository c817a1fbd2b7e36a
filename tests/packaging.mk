# SPDX-License-Identifier: Apache-2.0
# Packaging: the Debian package, the RPM spec and the image-building snippets, and the test that
# builds the .deb and the RPM from this tree and boots the .deb in a Debian 12 container.
PACKAGING_FILES = \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/docs \
	debian/postrm \
	debian/rules \
	debian/source/format \
	sshmend.spec \
	contrib/packer/sshmend.pkr.hcl \
	contrib/ec2-image-builder/sshmend.yaml \
	contrib/cloud-init/user-data.yaml \
	contrib/cloud-init/rescue-key.yaml
# Package builds run make check with PACKAGING_TESTS= so that the tests do not build packages of
# themselves, nor debootstrap and boot containers (tests/lib/container.sh, proved by
# test-fixture-container.sh).
PACKAGING_TESTS = tests/test-nspawn.sh tests/test-fixture-container.sh tests/test-why-sshd-trixie.sh \
	tests/test-sshdeval-agreement-trixie.sh \
	tests/test-diagnose-trixie.sh
EXTRA_DIST += $(PACKAGING_FILES) $(PACKAGING_TESTS)

TESTS += $(PACKAGING_TESTS)

# ./quickstart install compiles the journal catalog, as the packages do.
TESTS += tests/test-quickstart.sh
EXTRA_DIST += tests/test-quickstart.sh
