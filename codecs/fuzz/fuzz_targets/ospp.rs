#![no_main]
//! Fuzz target `ospp`: never panics on any input; what it decodes and encodes again decodes the same.

use libfuzzer_sys::fuzz_target;
use otagw_codecs::ospp::{Reply, Request};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&pid, text)) = data.split_first() else {
        return;
    };
    if let Ok(r) = Request::decode(pid, text) {
        common::round_trip(&r, |r| r.encode(), |o| Request::decode(pid, o));
    }
    if let Ok(r) = Reply::decode(text) {
        common::round_trip(&r, |r| r.encode(), |o| Reply::decode(o));
    }
});
