//! otagw: an over-the-air provisioning gateway for CDMA operators.
//!
//! The gateway of patent US 9,332,424: handsets activated and re-programmed with IS-683
//! (OTASP/OTAPA) over SS7 or tunnelled over HTTP (IOTA), triggered and woken over SMPP, with one
//! Postgres customer-profile store. See `docs/architecture.md` for what is built today.
//!
//! | module | component |
//! |---|---|
//! | [`access`] | roles, permissions and the one table between them; passwords and API keys |
//! | [`config`] | the TOML file and its `OTAGW_*` overrides |
//! | [`setting`] | how a setting is written in that file (timers, addresses) and its range checks |
//! | [`store`] | the customer-profile store (Postgres, diesel-async), including the embedded cluster |
//! | [`database`] | opening the store: embedded cluster or configured URL, migrations, pool |
//! | [`import`] | legacy profile CSV import and binary PRL import |
//! | [`smpp`] | the SMPP sender (ESME) towards the SMSC and its durable outbox |
//! | [`ospp_handler`] | the SMPP server for IVRs and OTAP tools: OSPP requests in, replies as deliver_sm |
//! | [`telemetry`] | logging and metrics |
//! | [`testkit`] | throwaway clusters and fresh databases for tests and demos |
//! | [`gateway`] | every component started on one store under one supervisor |
//! | [`mniu`] | the SS7 side: M3UA associations, TCAP, IS-725-A operations |
//! | [`flows`] | the call flows an operator triggers (PRL push, campaigns) |
//!
//! The HTTP edges, the dispatcher, the IOTA bearer and the session core (`ospp_driver`) are
//! private: they are reached through [`gateway::Gateway`].

#![warn(unreachable_pub)]

pub mod access;
pub mod call_manager;
pub mod config;
pub mod database;
mod dispatcher;
pub mod flows;
pub mod gateway;
mod http;
pub mod import;
mod iota;
mod listener;
pub mod mniu;
mod ospp_driver;
pub mod ospp_handler;
pub mod refusal;
pub mod setting;
pub mod smpp;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod testkit;
mod trace;
