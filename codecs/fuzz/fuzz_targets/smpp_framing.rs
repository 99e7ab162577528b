#![no_main]
//! Fuzz target `smpp_framing`: never panics on any input.

use libfuzzer_sys::fuzz_target;
use std::time::Instant;

use otagw_codecs::smpp::{Config, Framer, Session};

fuzz_target!(|data: &[u8]| {
    let _ = otagw_codecs::smpp::frame::decode(data);
    // The stream cut where the first octet says, through the framer and the server session.
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(rest.len());
    let mut framer = Framer::new();
    let mut session = Session::server(Config::server());
    let now = Instant::now();
    for part in [&rest[..cut], &rest[cut..]] {
        framer.push(part);
        while let Ok(Some(_frame)) = framer.next_frame() {}
        session.handle_data(now, part);
        while session.poll_event().is_some() {}
        while session.poll_transmit().is_some() {}
    }
});
