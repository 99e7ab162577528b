#![no_main]
//! Fuzz target `sccp`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::sccp::{SccpAddress, SccpMessage, Variant};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    for variant in [Variant::Ansi, Variant::Itu] {
        let _ = SccpAddress::decode(data, variant);
        if let Ok(m) = SccpMessage::decode(data, variant) {
            common::round_trip(
                &m,
                |m| m.encode(variant),
                |b| SccpMessage::decode(b, variant),
            );
        }
    }
});
