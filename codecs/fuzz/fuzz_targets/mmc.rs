#![no_main]
//! Fuzz target `mmc`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::mmc::MmcDocument;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = MmcDocument::decode(data) {
        let text = d.encode();
        let again = MmcDocument::decode_str(&text).expect("a document we encoded decodes");
        assert_eq!(again, d);
    }
});
