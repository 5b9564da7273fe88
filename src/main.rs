fn main() {
    std::process::exit(padlooper::cli::main());
}
