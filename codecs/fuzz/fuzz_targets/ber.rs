#![no_main]
//! Fuzz target `ber`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::ber::{Tlv, TlvRef};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = TlvRef::read(data);
    if let Ok(tlv) = Tlv::decode(data) {
        common::round_trip(&tlv, |t| t.encode(), |b| Tlv::decode(b));
    }
});
