//! The `padlooper` binary. Debug builds count every allocation made inside the audio callback
//! (see `padlooper::engine::rt`); release builds use the plain system allocator.

#[cfg(debug_assertions)]
#[global_allocator]
static GLOBAL: padlooper::engine::rt::GuardedAlloc = padlooper::engine::rt::GuardedAlloc;

fn main() {
    std::process::exit(padlooper::cli::main());
}
