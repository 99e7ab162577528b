#![no_main]
//! Fuzz target `wbxml_prov`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::wap::wbxml::ProvisioningDoc;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = ProvisioningDoc::decode(data) {
        common::round_trip(&d, |d| d.encode(), |b| ProvisioningDoc::decode(b));
    }
});
