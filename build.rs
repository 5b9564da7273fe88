//! Builds padlooper's C interface to the vendored Signalsmith Stretch (MIT, header-only C++:
//! vendor/signalsmith), optimised in every profile (debug C++ would be far too slow for the
//! audio thread).

fn main() {
    println!("cargo::rerun-if-changed=csrc/signalsmith.cpp");
    println!("cargo::rerun-if-changed=vendor/signalsmith");
    cc::Build::new()
        .cpp(true)
        .std("c++14")
        .file("csrc/signalsmith.cpp")
        .include("vendor/signalsmith")
        .opt_level(3)
        .debug(false)
        .warnings(false)
        .compile("padlooper_signalsmith");
}
