#![no_main]
//! Fuzz target `prl_classic`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::prl::classic::ClassicPrl;
use otagw_codecs::prl::Prl;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = Prl::validate(data, None);
    let _ = Prl::decode(data, None);
    if let Ok(p) = ClassicPrl::decode(data) {
        common::round_trip(&p, |p| p.encode(), |b| ClassicPrl::decode(b));
    }
});
