#![no_main]
//! Fuzz target `is637`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::is637::{BearerData, WdpSegment};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = BearerData::decode(data) {
        common::round_trip(&b, |b| b.encode(), |o| BearerData::decode(o));
    }
    if let Ok(s) = WdpSegment::decode(data) {
        common::round_trip(&s, |s| s.encode(), |o| WdpSegment::decode(o));
    }
});
