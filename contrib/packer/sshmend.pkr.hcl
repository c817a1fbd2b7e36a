# Packer (HCL2): install sshmend into an image and repair the image's SSH key chains before it
# is captured. Put this file beside your template and change "source.amazon-ebs.base" to the
# source your template defines. Build the package first (a .deb with dpkg-buildpackage, an
# .rpm with rpmbuild -ta on the release tarball) and pass its path:
#
#   packer build -var sshmend_package=../sshmend_0.1.0-1_amd64.deb .

variable "sshmend_package" {
  type        = string
  description = "Local path of the sshmend .deb (Debian, Ubuntu) or .rpm (Amazon Linux 2023, Fedora)."
}

build {
  sources = ["source.amazon-ebs.base"]

  provisioner "file" {
    source      = var.sshmend_package
    destination = "/tmp/${basename(var.sshmend_package)}"
  }

  provisioner "shell" {
    execute_command = "sudo sh -eu '{{ .Path }}'"
    inline = [
      "SSHMEND_PACKAGE=/tmp/${basename(var.sshmend_package)}",
      # Install; the package enables and starts the service (on Fedora-like systems
      # presets may leave it disabled, so enable it explicitly).
      "case \"$SSHMEND_PACKAGE\" in *.deb) DEBIAN_FRONTEND=noninteractive apt-get install -y \"$SSHMEND_PACKAGE\" ;; *.rpm) dnf install -y \"$SSHMEND_PACKAGE\" ;; *) echo \"not a .deb or .rpm: $SSHMEND_PACKAGE\" >&2; exit 1 ;; esac",
      "rm -f \"$SSHMEND_PACKAGE\"",
      "systemctl enable sshmend.service",
      # Repair what the build left behind, then fail the build if sshd would still refuse a key
      # or the configuration has a warning (a misspelt key, such as Exlusive=).
      "sshmend fix || true",
      "sshmend check --strict",
    ]
  }
}
