//! The flows: one file per call flow of the patent, each driving the programming plan over a
//! bearer. The one-button IOTA flow lives with its bearer in `iota`.

pub mod callback;
pub mod ivr_star_code;
pub mod prl_campaign;
pub mod prl_fallback;
pub mod prl_push;
pub mod star_code;
