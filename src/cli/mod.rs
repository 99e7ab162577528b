//! The `otagw` binary's own modules. They are not part of the gateway library: they drive it
//! together with the simulators (`otagw-sim`), which the library does not depend on.
//!
//! | module | what |
//! |---|---|
//! | [`lab`] | the lab: a database, simulated network elements and a gateway wired to them; the tests and load drivers include the same file |
//! | [`accounts`] | `otagw account` and `otagw apikey`: accounts and API keys on the server's shell |
//! | [`demo`] | `otagw demo`: scenarios run end to end in the lab, with a summary |

pub mod accounts;
pub mod demo;
pub mod lab;
