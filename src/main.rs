//! The `padlooper` binary. Debug builds count every allocation made inside the audio callback
//! (see `padlooper::audio::rt_guard`); release builds use the plain system allocator.

#[cfg(debug_assertions)]
#[global_allocator]
static GLOBAL: padlooper::audio::rt_guard::GuardedAlloc = padlooper::audio::rt_guard::GuardedAlloc;

fn main() {
    std::process::exit(padlooper::cli::main());
}
