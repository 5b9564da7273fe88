# padlooper — `make demo` plays the built-in demo, `make test` runs every test.
# Both first install what is missing on Debian / Raspberry Pi OS (apt packages via sudo when not
# root, and a Rust toolchain through rustup when there is none).

APT_PACKAGES := libasound2-dev libclang-dev pkg-config g++ make cmake
TEST_PACKAGES := shellcheck iproute2 util-linux chromium chromium-driver
RUST_MIN     := 1.88
CARGO        ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)

.PHONY: all deps apt apt-test rust build demo test lint bench clean pi pi-test

all: build

deps: apt rust

# install_missing: apt-get installs those of the listed packages that are not installed yet.
define install_missing
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  echo "installing:$$missing"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

apt:
	$(call install_missing,$(APT_PACKAGES))

# What only the tests need: shellcheck for deploy/'s scripts (systemd-analyze and dpkg-deb
# come with every Debian system).
apt-test:
	$(call install_missing,$(TEST_PACKAGES))

rust:
	@if ! [ -x "$(CARGO)" ]; then \
	  echo "no Rust toolchain: installing it with rustup (https://rustup.rs)"; \
	  command -v curl >/dev/null || { echo "curl is needed to install Rust: sudo apt-get install curl"; exit 1; }; \
	  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile default; \
	fi
	@ver=$$($(CARGO) --version | cut -d' ' -f2); \
	if [ "$$(printf '%s\n%s\n' "$(RUST_MIN)" "$$ver" | sort -V | head -n1)" != "$(RUST_MIN)" ]; then \
	  echo "Rust $$ver is older than $(RUST_MIN); updating with rustup"; \
	  rustup update stable || { echo "please install Rust >= $(RUST_MIN) (https://rustup.rs)"; exit 1; }; \
	fi

build: deps
	$(CARGO) build --release

# Exit status 2 means "no audio output; the demo was written to padlooper-demo.wav instead",
# which padlooper has already said in one line: not a build failure.
demo: build
	@./target/release/padlooper demo || [ $$? -eq 2 ]

lint: deps
	@if $(CARGO) fmt --version >/dev/null 2>&1; then $(CARGO) fmt --all -- --check; else echo "rustfmt not installed: skipping format check"; fi
	@if $(CARGO) clippy --version >/dev/null 2>&1; then $(CARGO) clippy --all-targets -- -D warnings; else echo "clippy not installed: skipping lints"; fi

test: deps apt-test lint
	$(CARGO) test

# A 64-bit Raspberry Pi build on an x86-64 Debian machine, from Debian's packages (see
# deploy/pi/cross-build.sh): the aarch64 binary and its .deb in target/deb/.
pi: deps
	deploy/pi/cross-build.sh deb

# The test suite under qemu-user on that build, and a render compared bit for bit with x86-64.
pi-test: deps
	deploy/pi/cross-build.sh test
	deploy/pi/cross-build.sh compare

bench: build
	./target/release/padlooper bench

clean:
	$(CARGO) clean
