//! The OSPP driver: the automaton that runs OTASP/OTAPA sessions (the patent's "OSPP driver").
//!
//! A session is a row; the driver takes events for it and advances its programming plan, the
//! same way for every bearer:
//!
//! | module | what |
//! |---|---|
//! | [`plan`] | the programming plan engine, pure: `step(state, event) -> (state, commands)` |
//! | [`state`] | the session row's typed state: the plan and the bearer's part ([`state::Link`]) |
//! | [`open`] | opening a session (the row, its plan not started) |
//! | [`apply`] | the one way to commit a step: lock, step, write, end, in one transaction |
//! | [`end`] | what a session's end writes: the profile change, scrubbed secrets, the audit record |
//! | [`record`] | what a step did, counted in the metrics once committed |
//! | [`expire`] | deadlines: the plan's reading of a timeout, the SS7 fallback hand-over |
//! | [`ss7`] | the SS7 bearer: the driver walks a plan through the MNIU in SMDPPs |
//!
//! The IOTA bearer (`crate::iota`) is the other way round: the handset drives, and the IOTA
//! server informs the driver of each request through [`apply`].

pub(crate) mod apply;
pub(crate) mod end;
pub(crate) mod expire;
pub(crate) mod open;
pub(crate) mod plan;
#[cfg(test)]
mod plan_tests;
pub(crate) mod record;
pub(crate) mod ss7;
pub(crate) mod state;
