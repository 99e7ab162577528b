//! The OSPP driver: the automaton that runs OTASP/OTAPA sessions.
//!
//! [`plan`] is its pure core, the programming plan engine shared by every trigger and bearer.

pub mod actor;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod session;
