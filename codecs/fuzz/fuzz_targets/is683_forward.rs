#![no_main]
//! Fuzz target `is683_forward`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::is683::ForwardMessage;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ForwardMessage::decode(data) {
        common::round_trip(&m, |m| m.encode(), |b| ForwardMessage::decode(b));
    }
});
