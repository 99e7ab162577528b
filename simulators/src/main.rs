//! `otagw-sim`: runs simulated network elements.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if otagw_sim::ELEMENTS.is_empty() || args.is_empty() {
        eprintln!(
            "otagw-sim: no simulated elements are built yet (the handset simulator comes with the one-button activation flow)"
        );
        std::process::exit(2);
    }
}
