//! SMPP 3.4 / 5.0: the session machine both ends of an SMPP link run, without I/O, and the
//! framing under it. PDUs themselves are rusmpp's (`rusmpp-core`, the types the `rusmpp` crate
//! re-exports).
//!
//! | module | what |
//! |---|---|
//! | [`session`] | [`Session`]: one SMPP session, client (ESME) or server (SMSC), in the style of quinn-proto: `handle_data(now, octets)`, `handle_timeout(now)`, the application's requests and answers in; `poll_transmit`, `poll_timeout`, `poll_event` out |
//! | [`event`] | what a session reports ([`Event`], [`Outcome`], [`CloseReason`]) and the words of its calls |
//! | [`frame`] | a byte stream cut into PDUs by command_length, each decoded whole; bodies rusmpp reads as header-only set aside |
//! | [`window`] | requests in flight by sequence number, their deadlines, sequence numbers 1..=0x7FFFFFFF |
//! | [`pace`] | the token bucket and the pause after ESME_RTHROTTLED / ESME_RMSGQFUL |
//! | [`congestion`] | SMPP 5.0 congestion_state and the pace a bind keeps on it |
//! | [`status`] | what a command_status means for a message (ok, slow down, transient, permanent) |
//! | [`version`] | interface_version negotiation and what an ESME offers after a refusal |
//!
//! The drivers: the gateway's ESME binds (`otagw::smpp::esme`) and OSPP handler links
//! (`otagw::ospp_handler`), the simulated SMSC and IVR (`otagw-sim`). Each owns a TCP
//! connection, feeds the session what arrives and when its timer fires, writes what it polls,
//! and acts on its events; the session decides everything SMPP.
//!
//! ```
//! use std::time::Instant;
//! use otagw_codecs::smpp::{BindKind, BindRequest, Config, Event, Session, SMPP_5_0};
//!
//! let now = Instant::now();
//! let bind = BindRequest {
//!     kind: BindKind::Transceiver,
//!     system_id: "otagw".into(),
//!     password: "secret".into(),
//!     system_type: "OTA".into(),
//!     interface_version: SMPP_5_0,
//! };
//! let mut esme = Session::client(Config::default(), &bind, now).unwrap();
//! let mut smsc = Session::server(Config::server());
//! // The ESME's bind goes to the SMSC, whose application accepts it.
//! smsc.handle_data(now, &esme.poll_transmit().unwrap());
//! let Some(Event::BindRequested { sequence_number, request }) = smsc.poll_event() else {
//!     panic!("a bind")
//! };
//! assert_eq!(request.system_id, "otagw");
//! smsc.answer_bind(sequence_number, 0, "smsc", Some(SMPP_5_0)).unwrap();
//! esme.handle_data(now, &smsc.poll_transmit().unwrap());
//! assert_eq!(esme.poll_event(), Some(Event::Bound { version: SMPP_5_0 }));
//! ```

pub mod congestion;
pub mod event;
pub mod frame;
pub mod pace;
pub mod session;
pub mod status;
pub mod version;
pub mod window;

pub use congestion::Pace;
pub use event::{BindKind, BindRequest, CloseReason, Event, Outcome, SessionError, Unanswered};
pub use frame::{Frame, FrameError, Framer};
pub use pace::MAX_THROTTLE_PAUSE;
pub use session::{Config, Ready, Role, Session, State, Stats};
pub use status::StatusClass;
pub use version::{negotiated_version, version_name, Offer, SMPP_3_4, SMPP_5_0};
