//! What the load drivers share: their command-line options. A driver that runs the gateway end
//! to end includes the lab (`src/cli/lab.rs`, the harness `otagw demo` and the tests use) too.

/// The value after option `name` on the command line (`--handsets 1000`), or `default` when the
/// option is absent or not a number.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
