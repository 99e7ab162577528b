//! What reaches a handset by SMS: the network elements that deliver short messages (the
//! simulated SMSC, [`crate::smsc::SmscHandle::attach`], and the simulated MSC for WAP pushes
//! sent straight to it over SS7, [`crate::ss7::Msc::attach_push`]) reassemble and decode them
//! and hand the handset whole [`Delivery`]s; the handset follows a push to the URL a Service
//! Indication or Service Loading names ([`target_url`], [`next_url`]).
//!
//! ```no_run
//! # async fn demo(smsc: &otagw_sim::smsc::SmscHandle) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use otagw_sim::handset::push::next_url;
//! use otagw_sim::handset::{run_session, Handset, HandsetConfig, NetFaults};
//!
//! let mut handset = Handset::new(HandsetConfig::new("1A2B3C4D".parse()?))?;
//! let mut deliveries = smsc.attach("6195550101");
//! if let Some(url) = next_url(&mut deliveries, Duration::from_secs(20)).await {
//!     run_session(&url, &mut handset, NetFaults::default()).await?;
//! }
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use otagw_codecs::wap::push::{PushContent, WapPush};

/// What a network element hands a handset.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// A WAP push, reassembled and decoded (WSP, then WBXML SI, SL or OMA CP).
    Push(WapPush),
    /// A text SMS, decoded from its data coding.
    Text(String),
}

/// A handset's end of the delivery channel.
pub type Deliveries = tokio::sync::mpsc::UnboundedReceiver<Delivery>;

/// The URL a push sends the handset to: the href of a Service Loading or Service Indication.
pub fn target_url(push: &WapPush) -> Option<&str> {
    match &push.content {
        PushContent::Sl(sl) => Some(sl.href.as_str()),
        PushContent::Si(si) => si.href.as_deref(),
        PushContent::Prov { .. } => None,
    }
}

/// Waits up to `timeout` for the next push that names a URL and returns the URL. Text
/// messages and pushes without a URL that arrive first are skipped (and lost). `None` when
/// the time is up or the network element dropped the channel (another handset attached at the
/// same address, or the element stopped).
pub async fn next_url(deliveries: &mut Deliveries, timeout: Duration) -> Option<String> {
    tokio::time::timeout(timeout, async {
        loop {
            if let Delivery::Push(push) = deliveries.recv().await? {
                if let Some(url) = target_url(&push) {
                    return Some(url.to_owned());
                }
            }
        }
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use otagw_codecs::wap::wbxml::{ServiceIndication, ServiceLoading, SlAction};

    fn sl(href: &str) -> WapPush {
        WapPush {
            tid: 1,
            content: PushContent::Sl(ServiceLoading {
                href: href.into(),
                action: SlAction::ExecuteHigh,
            }),
        }
    }

    #[tokio::test]
    async fn next_url_skips_texts_and_url_less_pushes() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tx.send(Delivery::Text("hello".into())).unwrap();
        tx.send(Delivery::Push(WapPush {
            tid: 2,
            content: PushContent::Si(ServiceIndication::default()),
        }))
        .unwrap();
        tx.send(Delivery::Push(sl("http://127.0.0.1/x"))).unwrap();
        assert_eq!(
            next_url(&mut rx, Duration::from_secs(1)).await.as_deref(),
            Some("http://127.0.0.1/x")
        );
        // Nothing more: the time runs out; a dropped sender ends the wait at once.
        assert_eq!(next_url(&mut rx, Duration::from_millis(20)).await, None);
        drop(tx);
        assert_eq!(next_url(&mut rx, Duration::from_secs(30)).await, None);
    }
}
