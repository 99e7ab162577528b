#![no_main]
//! Fuzz target `prl_extended`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::prl::extended::ExtendedPrl;
use otagw_codecs::prl::Prl;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = Prl::validate(data, Some(3));
    if let Ok(p) = ExtendedPrl::decode(data) {
        common::round_trip(&p, |p| p.encode(), |b| ExtendedPrl::decode(b));
    }
});
