//! The handset's WAP push client: SMS segments in (as the SMSC delivers them), whole pushes
//! out, and the URL a Service Indication or Service Loading tells the handset to fetch.

use otagw_codecs::wap::push::{PushContent, Reassembler, ReassemblyError, WapPush};
use thiserror::Error;

/// Why a delivered message did not become a push.
#[derive(Debug, Error)]
pub enum PushInboxError {
    /// The segments did not reassemble.
    #[error("reassembling the push: {0}")]
    Reassembly(#[from] ReassemblyError),
    /// The reassembled bytes are not a WSP push the handset understands.
    #[error("decoding the push: {0}")]
    Push(String),
}

/// One handset's push inbox.
#[derive(Debug, Default)]
pub struct PushInbox {
    reassembler: Reassembler,
    received: Vec<WapPush>,
}

impl PushInbox {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one SMS (user data header + payload); returns the push once all its segments
    /// arrived.
    pub fn receive(&mut self, short_message: &[u8]) -> Result<Option<WapPush>, PushInboxError> {
        let Some(wsp) = self.reassembler.push(short_message)? else {
            return Ok(None);
        };
        let push = WapPush::decode(&wsp).map_err(|e| PushInboxError::Push(e.to_string()))?;
        self.received.push(push.clone());
        Ok(Some(push))
    }

    /// Every push received so far.
    pub fn received(&self) -> &[WapPush] {
        &self.received
    }
}

/// The URL a push sends the handset to: the href of a Service Loading or Service Indication.
pub fn target_url(push: &WapPush) -> Option<&str> {
    match &push.content {
        PushContent::Sl(sl) => Some(sl.href.as_str()),
        PushContent::Si(si) => si.href.as_deref(),
        PushContent::Prov { .. } => None,
    }
}
