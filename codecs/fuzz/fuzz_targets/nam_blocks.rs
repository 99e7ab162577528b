#![no_main]
//! Fuzz target `nam_blocks`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::is683::blocks::RawBlock;
use otagw_codecs::is683::nam::{NamConfigBlock, NamDownloadBlock};

fuzz_target!(|data: &[u8]| {
    let Some((&id, rest)) = data.split_first() else {
        return;
    };
    if let Ok(b) = NamDownloadBlock::from_block(RawBlock::new(id, rest.to_vec())) {
        if let Ok(raw) = b.to_block() {
            let again = NamDownloadBlock::from_block(raw).expect("a block we encoded decodes");
            assert_eq!(again, b);
        }
    }
    if let Ok(b) = NamConfigBlock::from_block(RawBlock::new(id, rest.to_vec())) {
        if let Ok(raw) = b.to_block() {
            let again = NamConfigBlock::from_block(raw).expect("a block we encoded decodes");
            assert_eq!(again, b);
        }
    }
});
