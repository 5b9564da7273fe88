#!/bin/sh
# Installs padlooper as an appliance service. Idempotent: running it again changes nothing
# that is already in place, and never overwrites /etc/padlooper/set.toml.
#
#   deploy/install.sh [--destdir DIR] [--prefix /usr] [--binary PATH] [--no-enable]
#
# With --destdir it only stages files into DIR (for packaging and tests): no user is created
# and systemd is not touched. Without it, run as root on the target machine.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
destdir=""
prefix="/usr"
binary="$here/../target/release/padlooper"
enable=1

while [ $# -gt 0 ]; do
    case "$1" in
        --destdir) destdir=${2:?--destdir needs a folder}; shift 2 ;;
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --binary) binary=${2:?--binary needs a file}; shift 2 ;;
        --no-enable) enable=0; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ ! -x "$binary" ]; then
    echo "install.sh: $binary is missing: build it first (make build, or make pi for a Pi)" >&2
    exit 1
fi
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run it as root (sudo deploy/install.sh), or stage with --destdir DIR" >&2
    exit 1
fi

# put SRC DEST MODE: installs a file only when it differs, so a second run is a no-op.
put() {
    if [ ! -f "$2" ] || ! cmp -s "$1" "$2"; then
        install -D -m "$3" "$1" "$2"
        echo "installed $2"
    fi
}

root="$destdir"
put "$binary" "$root$prefix/bin/padlooper" 0755
unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed "s|/usr/bin/padlooper|$prefix/bin/padlooper|" "$here/padlooper.service" > "$unit"
put "$unit" "$root/lib/systemd/system/padlooper.service" 0644
put "$here/limits/95-padlooper.conf" "$root/etc/security/limits.d/95-padlooper.conf" 0644
put "$here/modules-load/padlooper.conf" "$root/etc/modules-load.d/padlooper.conf" 0644
put "$here/pi/cpu-performance.service" "$root/lib/systemd/system/padlooper-cpu-performance.service" 0644
put "$here/usb/99-padlooper-usb.rules" "$root/lib/udev/rules.d/99-padlooper-usb.rules" 0644
put "$here/../README.md" "$root$prefix/share/doc/padlooper/README.md" 0644
put "$here/README.md" "$root$prefix/share/doc/padlooper/deploy.md" 0644
put "$here/../COPYING" "$root$prefix/share/doc/padlooper/COPYING" 0644
# The set is the performer's: installed once, never replaced.
if [ ! -f "$root/etc/padlooper/set.toml" ]; then
    install -D -m 0644 "$here/set.toml" "$root/etc/padlooper/set.toml"
    echo "installed $root/etc/padlooper/set.toml (the example set; edit it)"
fi

if [ -n "$destdir" ]; then
    exit 0
fi

if ! id padlooper >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/padlooper --no-create-home \
        --shell /usr/sbin/nologin --groups audio padlooper
    echo "created the system user padlooper (group audio)"
fi
# The service saves the set and uploaded samples there (the web surface).
chown padlooper:padlooper /etc/padlooper /etc/padlooper/set.toml
modprobe snd-seq 2>/dev/null || true
if command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules || true
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ "$enable" -eq 1 ]; then
        systemctl enable padlooper.service padlooper-cpu-performance.service
        systemctl restart padlooper.service
        echo "padlooper is running: journalctl -u padlooper -f"
    fi
fi
