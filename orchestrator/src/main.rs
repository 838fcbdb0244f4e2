//! The `eigensweep` binary: parses the command line and hands over to the library.

fn main() {
    std::process::exit(eigensweep::main_with_args(std::env::args_os()));
}
