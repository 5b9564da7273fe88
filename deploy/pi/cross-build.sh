#!/bin/sh
# Cross-builds padlooper for a 64-bit Raspberry Pi (aarch64-unknown-linux-gnu) on an x86-64
# Debian machine, from Debian's own packages only (no rustup target download needed):
#
#   deploy/pi/cross-build.sh build     # target/aarch64-unknown-linux-gnu/release/padlooper
#   deploy/pi/cross-build.sh deb       # ...and target/deb/padlooper_VERSION_arm64.deb
#   deploy/pi/cross-build.sh test      # the test suite under qemu-user
#   deploy/pi/cross-build.sh compare   # a render on arm64 (qemu) is bit-identical to x86-64's
#   deploy/pi/cross-build.sh env       # print the environment, to run cargo by hand
#
# The toolchain (Debian's rustc-web with its arm64 standard library, the aarch64 GCC cross
# compilers, arm64 ALSA) is downloaded with `apt-get download` and unpacked into
# $PI_SYSROOT (default target/pi-sysroot) once: nothing is installed in the system except
# the arm64 architecture in apt's list (to download arm64 packages) and qemu-user-static for
# `test`. About 170 MB of downloads, 700 MB unpacked.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
sysroot=${PI_SYSROOT:-$repo/target/pi-sysroot}
target=aarch64-unknown-linux-gnu
packages="rustc-web libstd-rust-web-1.96 libstd-rust-web-dev libstd-rust-web-dev:arm64 libllvm22
gcc-12-aarch64-linux-gnu g++-12-aarch64-linux-gnu cpp-12-aarch64-linux-gnu
binutils-aarch64-linux-gnu libgcc-12-dev-arm64-cross libstdc++-12-dev-arm64-cross
libstdc++6-arm64-cross libgcc-s1-arm64-cross libc6-arm64-cross libc6-dev-arm64-cross
linux-libc-dev-arm64-cross libasound2:arm64 libasound2-dev:arm64"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

setup() {
    if [ -x "$sysroot/usr/bin/rustc" ] && [ -f "$sysroot/.complete" ]; then
        return
    fi
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "adding arm64 to apt's architectures (to download arm64 packages)"
        as_root dpkg --add-architecture arm64
        as_root apt-get update -qq
    fi
    dl=$(mktemp -d)
    echo "downloading the cross toolchain into $sysroot"
    # shellcheck disable=SC2086 # the package list is split on purpose
    (cd "$dl" && apt-get download $packages >/dev/null 2>&1) || {
        as_root apt-get update -qq
        # shellcheck disable=SC2086
        (cd "$dl" && apt-get download $packages)
    }
    mkdir -p "$sysroot"
    for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$sysroot"; done
    rm -rf "$dl"
    # The linker and C/C++ compilers see the unpacked tree as their sysroot (libc.so is a
    # linker script with absolute paths).
    for tool in gcc g++; do
        cat > "$sysroot/usr/bin/pi-$tool" <<WRAP
#!/bin/sh
exec "$sysroot/usr/bin/aarch64-linux-gnu-$tool-12" --sysroot="$sysroot" -L"$sysroot/usr/aarch64-linux-gnu/lib" "\$@"
WRAP
        chmod +x "$sysroot/usr/bin/pi-$tool"
    done
    touch "$sysroot/.complete"
}

environment() {
    export RUSTC="$sysroot/usr/bin/rustc"
    export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="$sysroot/usr/bin/pi-gcc"
    export CC_aarch64_unknown_linux_gnu="$sysroot/usr/bin/pi-gcc"
    export CXX_aarch64_unknown_linux_gnu="$sysroot/usr/bin/pi-g++"
    export AR_aarch64_unknown_linux_gnu="$sysroot/usr/bin/aarch64-linux-gnu-ar"
    export PKG_CONFIG_ALLOW_CROSS=1
    export PKG_CONFIG_SYSROOT_DIR="$sysroot"
    export PKG_CONFIG_LIBDIR="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig"
    export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=$sysroot/usr/aarch64-linux-gnu"
    # Tests run under qemu; the binaries they start (padlooper itself) go through binfmt_misc
    # and find the arm64 loader and libraries through QEMU_LD_PREFIX and LD_LIBRARY_PATH.
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L $sysroot/usr/aarch64-linux-gnu -E QEMU_LD_PREFIX=$sysroot/usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=$sysroot/usr/lib/aarch64-linux-gnu:$sysroot/usr/aarch64-linux-gnu/lib"
}

need_qemu() {
    if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
        as_root apt-get install -y -qq qemu-user-static
    fi
    # Tests that start the padlooper binary need the kernel to run arm64 executables through
    # qemu (binfmt_misc); without it those tests fail with "exec format error".
    binfmt=/proc/sys/fs/binfmt_misc
    if [ ! -e "$binfmt/register" ]; then
        as_root mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || true
    fi
    if [ -e "$binfmt/register" ] && [ ! -e "$binfmt/qemu-aarch64" ] &&
        [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
        as_root sh -c "cat /usr/lib/binfmt.d/qemu-aarch64.conf > $binfmt/register" ||
            echo "cannot register qemu for arm64 executables: tests that start padlooper will fail" >&2
    fi
}

cmd=${1:-build}
setup
environment
cd "$repo"
case "$cmd" in
    build)
        cargo build --release --target "$target"
        ;;
    deb)
        cargo build --release --target "$target"
        PATH="$sysroot/usr/bin:$PATH" "$repo/deploy/build-deb.sh" arm64 \
            "target/$target/release/padlooper" target/deb
        ;;
    test)
        need_qemu
        shift
        if [ $# -gt 0 ]; then
            cargo test --no-fail-fast --target "$target" "$@"
        else
            # Everything but the long-audio suites, which take far too long emulated (the
            # key-lock gates alone ran over 8 minutes without finishing); `compare` checks
            # the engine's output on arm64 bit for bit instead.
            set -- --lib --bins
            for t in tests/*.rs; do
                name=$(basename "$t" .rs)
                case "$name" in
                    keylock|soak|transport|edge_cases) ;;
                    *) set -- "$@" --test "$name" ;;
                esac
            done
            cargo test --no-fail-fast --target "$target" "$@"
        fi
        ;;
    compare)
        need_qemu
        cargo build --release --target "$target"
        # The host build runs with the host's own toolchain and libraries.
        env -u RUSTC -u LD_LIBRARY_PATH -u PKG_CONFIG_ALLOW_CROSS -u PKG_CONFIG_SYSROOT_DIR \
            -u PKG_CONFIG_LIBDIR cargo build --release
        out=$(mktemp -d)
        target/release/padlooper render --seconds 20 -o "$out/x86_64.wav" 2>/dev/null
        qemu-aarch64-static -L "$sysroot/usr/aarch64-linux-gnu" \
            -E LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu:$sysroot/usr/aarch64-linux-gnu/lib" \
            "target/$target/release/padlooper" render --seconds 20 -o "$out/aarch64.wav" 2>/dev/null
        if cmp "$out/x86_64.wav" "$out/aarch64.wav"; then
            echo "the demo render (20 s) is bit-identical on aarch64 and x86-64"
            rm -rf "$out"
        else
            echo "the aarch64 render differs from the x86-64 one: $out" >&2
            exit 1
        fi
        ;;
    env)
        env | grep -E '^(RUSTC|LD_LIBRARY_PATH|CARGO_TARGET_AARCH64|CC_aarch64|CXX_aarch64|AR_aarch64|PKG_CONFIG|BINDGEN)' | sed 's/^/export /'
        ;;
    *)
        echo "usage: cross-build.sh build|deb|test|compare|env" >&2
        exit 2
        ;;
esac
