#![no_main]
//! Fuzz target `udh`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::wap::udh::UserDataHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, _rest)) = UserDataHeader::decode(data) {
        if let Ok(octets) = h.encode() {
            let (again, rest) =
                UserDataHeader::decode(&octets).expect("a header we encoded decodes");
            assert_eq!(again, h);
            assert!(rest.is_empty());
        }
    }
});
