#![no_main]
//! Fuzz target `is683_reverse`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::is683::ReverseMessage;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ReverseMessage::decode(data) {
        common::round_trip(&m, |m| m.encode(), |b| ReverseMessage::decode(b));
    }
});
