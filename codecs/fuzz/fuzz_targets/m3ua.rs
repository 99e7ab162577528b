#![no_main]
//! Fuzz target `m3ua`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = otagw_codecs::m3ua::Message::decode(data) {
        common::round_trip(
            &m,
            |m| m.encode(),
            |b| otagw_codecs::m3ua::Message::decode(b),
        );
    }
});
