#![no_main]
//! Fuzz target `tcap`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::tcap::TcapMessage;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = TcapMessage::decode(data) {
        common::round_trip(&m, |m| m.encode(), |b| TcapMessage::decode(b));
    }
});
