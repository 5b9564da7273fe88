#!/bin/sh
# Builds padlooper_VERSION_ARCH.deb from a built binary, with no tool beyond dpkg-deb:
#
#   deploy/build-deb.sh ARCH BINARY OUTDIR      (ARCH: amd64 or arm64)
#
# The package holds what deploy/install.sh stages, plus maintainer scripts that create the
# service user and enable the service.
set -eu

arch=${1:?usage: build-deb.sh ARCH BINARY OUTDIR}
binary=${2:?usage: build-deb.sh ARCH BINARY OUTDIR}
out=${3:?usage: build-deb.sh ARCH BINARY OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../Cargo.toml" | head -n 1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$here/install.sh" --destdir "$stage" --binary "$binary" >/dev/null
# Debian ships stripped binaries (a quarter of the size); debug symbols stay in the build.
case "$arch" in
    arm64) strip_tool=aarch64-linux-gnu-strip ;;
    *) strip_tool="strip" ;;
esac
if [ "$arch" = arm64 ] && [ "$(uname -m)" = aarch64 ]; then
    strip_tool="strip"
fi
if command -v "$strip_tool" >/dev/null 2>&1; then
    "$strip_tool" --strip-unneeded "$stage/usr/bin/padlooper" 2>/dev/null ||
        echo "build-deb.sh: $strip_tool cannot strip this binary; it is not stripped" >&2
else
    echo "build-deb.sh: $strip_tool not found; the binary is not stripped" >&2
fi
mkdir -p "$stage/DEBIAN"
size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: padlooper
Version: $version
Architecture: $arch
Maintainer: padlooper developers <padlooper@localhost>
Installed-Size: $size
Depends: libasound2 (>= 1.2), libc6 (>= 2.34), libgcc-s1, libstdc++6 (>= 11)
Section: sound
Priority: optional
Homepage: https://example.invalid/padlooper
Description: live looper/sampler for USB pad controllers
 padlooper turns a Raspberry Pi or a Linux PC and a USB pad controller into a
 live looper/sampler instrument. This package runs it as a service that starts
 at boot and plays /etc/padlooper/set.toml.
CONTROL
cat > "$stage/DEBIAN/conffiles" <<CONFFILES
/etc/padlooper/set.toml
/etc/security/limits.d/95-padlooper.conf
/etc/modules-load.d/padlooper.conf
CONFFILES
cat > "$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! id padlooper >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/padlooper --no-create-home \
            --shell /usr/sbin/nologin --groups audio padlooper
    fi
    # The service saves the set and uploaded samples there (the web surface).
    chown padlooper:padlooper /etc/padlooper /etc/padlooper/set.toml
    modprobe snd-seq 2>/dev/null || true
    if command -v udevadm >/dev/null 2>&1; then
        udevadm control --reload-rules || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable padlooper.service padlooper-cpu-performance.service
        systemctl restart padlooper.service || true
    fi
fi
POSTINST
cat > "$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl disable --now padlooper.service padlooper-cpu-performance.service || true
fi
PRERM
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"
mkdir -p "$out"
deb="$out/padlooper_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
