#![no_main]
//! Fuzz target `wbxml_document`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::wap::wbxml::Document;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Document::decode(data) {
        common::round_trip(&d, |d| d.encode(), |b| Document::decode(b));
    }
});
