//! The MNIU: the gateway's SS7 side. M3UA associations over TCP or kernel SCTP
//! ([`transport`], [`asp`]) carry ANSI SCCP and ANSI TCAP ([`tcap`], the transaction manager),
//! which carry the IS-725-A operations of ANSI-41 MAP ([`is725`]). [`sms_sender`] sends the
//! outbox's `ss7` rows (WAP pushes) straight to the serving MSC.

pub mod asp;
pub mod is725;
pub mod sms_sender;
pub mod tcap;
pub mod transport;
