//! The flows: one file per call flow of the patent, each driving the programming plan over a
//! bearer. The one-button IOTA flow lives with its bearer in `iota`.

pub(crate) mod callback;
pub(crate) mod ivr_star_code;
pub mod prl_campaign;
pub(crate) mod prl_fallback;
pub mod prl_push;
pub(crate) mod star_code;
