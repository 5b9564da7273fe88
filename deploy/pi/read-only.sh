#!/bin/sh
# Optional: makes a Raspberry Pi OS root filesystem read-only (an overlay in RAM on top of it),
# so pulling the power on stage can never corrupt the SD card. Uses raspi-config's own
# overlay file system support; takes effect at the next reboot.
#
#   sudo deploy/pi/read-only.sh enable     # read-only root (and boot partition)
#   sudo deploy/pi/read-only.sh disable    # writable again (to update padlooper or the set)
#   deploy/pi/read-only.sh status
#
# While read-only, nothing written survives a reboot: padlooper's saved live changes and last
# good set (/var/lib/padlooper) and its prepared copies of streamed samples (/var/cache/padlooper)
# start afresh at every boot. Put sets on a USB stick, or disable, edit, enable.
set -eu

usage() { sed -n '2,13p' "$0"; }

need_raspi_config() {
    if ! command -v raspi-config >/dev/null 2>&1; then
        echo "read-only.sh: raspi-config is missing: this script is for Raspberry Pi OS" >&2
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "read-only.sh: run it as root (sudo deploy/pi/read-only.sh $1)" >&2
        exit 1
    fi
}

case "${1:-}" in
    enable)
        need_raspi_config enable
        # 0 means "yes" in raspi-config's non-interactive mode.
        raspi-config nonint do_overlayfs 0
        echo "the root file system is read-only from the next boot: sudo reboot"
        ;;
    disable)
        need_raspi_config disable
        raspi-config nonint do_overlayfs 1
        echo "the root file system is writable from the next boot: sudo reboot"
        ;;
    status)
        if grep -q ' / overlay ' /proc/mounts; then
            echo "read-only (overlay in RAM)"
        else
            echo "writable"
        fi
        ;;
    -h|--help) usage ;;
    *) usage >&2; exit 2 ;;
esac
