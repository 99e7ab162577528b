#![no_main]
//! Fuzz target `wsp`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::wap::push::WapPush;
use otagw_codecs::wap::wsp::{self, PushPdu};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = wsp::decode_uintvar(data);
    let _ = WapPush::decode(data);
    if let Ok(p) = PushPdu::decode(data) {
        common::round_trip(&p, |p| p.encode(), |b| PushPdu::decode(b));
    }
});
