//! The handset's IOTA client: one provisioning session over real HTTP/1.1, as docs/iota.md
//! describes it.
//!
//! The client GETs the bootstrap URL with the device's identity header, then answers every
//! gateway document: each `is683 dir="fwd"` message goes through [`Handset::handle`] and the
//! reverse messages go back in one POST to the document's `next` href, with the same session
//! token and `seq`. A `terminate` ends the session (rebooting the handset for `reboot`); an
//! `error` document ends it as refused. [`NetFaults`] adds the network trouble a gateway must
//! survive: a dropped data call, slow requests, retransmitted POSTs.
//!
//! Each request uses a fresh TCP connection (as a handset whose data call comes and goes
//! would), with a timeout of [`REQUEST_TIMEOUT`].

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use otagw_codecs::identity::DeviceId;
use otagw_codecs::is683::{ForwardMessage, Is683Error};
use otagw_codecs::mmc::{self, Direction, MmcBody, MmcDocument, MmcError, TerminateAction};
use thiserror::Error;
use tokio::net::TcpStream;

use super::model::Handset;

/// How long one HTTP request (connect, send, read the whole answer) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The identity header for an ESN (8 hex digits).
pub const HEADER_ESN: &str = "X-Device-ESN";

/// The identity header for a MEID (14 hex digits).
pub const HEADER_MEID: &str = "X-Device-MEID";

/// The header the operator's WAP gateway puts the subscriber's MDN in.
pub const HEADER_MSISDN: &str = "X-MSISDN";

/// Network-level misbehaviour of the simulated handset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetFaults {
    /// Stop after receiving this many documents (counting the bootstrap answer as 1), without
    /// processing or answering the last one: the data call dropped.
    pub drop_after_documents: Option<usize>,
    /// Wait this long before every request.
    pub delay_per_request: Option<Duration>,
    /// Send every POST twice and require byte-identical answers (the gateway must treat the
    /// second as a retransmission).
    pub retransmit_each_post: bool,
    /// Send the POSTs to this `host:port` instead of the bootstrap URL's, as a load balancer
    /// in front of several gateway instances would.
    pub post_to: Option<String>,
    /// The subscriber's MDN, which the operator's WAP gateway adds to the first GET as
    /// `X-MSISDN` (not a fault: what the network in between does).
    pub msisdn: Option<String>,
}

/// One IS-683 message exchanged in a session, in the order sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedMessage {
    /// `Forward`: received from the gateway; `Reverse`: sent by the handset.
    pub direction: Direction,
    /// The IS-683 message, OTASP_MSG_TYPE first.
    pub octets: Vec<u8>,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutcome {
    /// The gateway sent `terminate`; the handset rebooted if the action was `reboot`.
    Terminated {
        /// The `terminate@action`.
        action: TerminateAction,
        /// Documents received from the gateway, the `terminate` included.
        documents: usize,
        /// The IS-683 messages exchanged.
        trace: Vec<TracedMessage>,
    },
    /// The gateway answered with an `error` document.
    Refused {
        /// The HTTP status of that answer.
        status: u16,
        /// `error@code`.
        code: String,
        /// The error text.
        reason: String,
        /// Documents received from the gateway, the error included.
        documents: usize,
        /// The IS-683 messages exchanged before the refusal.
        trace: Vec<TracedMessage>,
    },
    /// The handset stopped on purpose ([`NetFaults::drop_after_documents`]).
    Dropped {
        /// Documents received from the gateway.
        documents: usize,
        /// The IS-683 messages exchanged (the unanswered document's are not included).
        trace: Vec<TracedMessage>,
    },
}

impl SessionOutcome {
    /// The IS-683 messages exchanged, in order.
    pub fn trace(&self) -> &[TracedMessage] {
        match self {
            SessionOutcome::Terminated { trace, .. }
            | SessionOutcome::Refused { trace, .. }
            | SessionOutcome::Dropped { trace, .. } => trace,
        }
    }

    /// Documents received from the gateway.
    pub fn documents(&self) -> usize {
        match self {
            SessionOutcome::Terminated { documents, .. }
            | SessionOutcome::Refused { documents, .. }
            | SessionOutcome::Dropped { documents, .. } => *documents,
        }
    }

    /// Whether the session ended with `terminate action="reboot"`.
    pub fn is_rebooted(&self) -> bool {
        matches!(
            self,
            SessionOutcome::Terminated {
                action: TerminateAction::Reboot,
                ..
            }
        )
    }
}

/// Why a session could not be carried through.
#[derive(Debug, Error)]
pub enum IotaClientError {
    /// A URL the client cannot use (only `http://host:port/path` is supported).
    #[error("IOTA client: bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The TCP connection could not be opened.
    #[error("IOTA client: cannot connect to {authority}")]
    Connect {
        /// host:port.
        authority: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// HTTP failed (connection reset, malformed answer ...).
    #[error("IOTA client: HTTP {method} {url} failed")]
    Http {
        /// GET or POST.
        method: &'static str,
        /// The URL.
        url: String,
        /// hyper's error.
        source: hyper::Error,
    },
    /// Building a request failed (a header value the identity or URL cannot carry).
    #[error("IOTA client: cannot build the request")]
    Request(#[from] hyper::http::Error),
    /// The answer body was over [`mmc::MAX_DOCUMENT_SIZE`] or could not be read.
    #[error("IOTA client: {method} {url}: cannot read the answer body: {reason}")]
    Body {
        /// GET or POST.
        method: &'static str,
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A request took longer than [`REQUEST_TIMEOUT`].
    #[error("IOTA client: {method} {url} timed out")]
    Timeout {
        /// GET or POST.
        method: &'static str,
        /// The URL.
        url: String,
    },
    /// A success answer that is not a valid MMC document.
    #[error("IOTA client: HTTP {status} with an invalid MMC document")]
    BadDocument {
        /// The HTTP status.
        status: u16,
        /// Why the document was refused.
        source: MmcError,
    },
    /// A failure status without an MMC `error` document.
    #[error("IOTA client: HTTP {status} without an MMC error document: {body:?}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The start of the body, as text.
        body: String,
    },
    /// A gateway document the handset cannot answer (reverse messages, no `next`, no `seq` ...).
    #[error("IOTA client: document {documents}: {reason}")]
    Protocol {
        /// Documents received so far.
        documents: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A forward message that does not decode as IS-683.
    #[error("IOTA client: document seq {seq}, message {index} is not an IS-683 forward message")]
    UndecodableForward {
        /// The document's `seq`.
        seq: u32,
        /// The message's position in the document, from 0.
        index: usize,
        /// The codec's error.
        source: Is683Error,
    },
    /// The handset's answer could not be encoded (a simulator bug).
    #[error("IOTA client: cannot encode the handset's answer")]
    EncodeReverse(#[source] Is683Error),
    /// A retransmitted POST got a different answer from the first.
    #[error("IOTA client: the retransmission of seq {seq} got a different answer ({first_status} vs {second_status})")]
    RetransmitMismatch {
        /// The `seq` posted twice.
        seq: u32,
        /// Status of the first answer.
        first_status: u16,
        /// Status of the second answer.
        second_status: u16,
    },
}

/// An `http://host:port/path` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HttpUrl {
    /// host:port (port defaults to 80).
    authority: String,
    /// Path and query, from `/`.
    path: String,
}

impl HttpUrl {
    fn parse(url: &str) -> Result<Self, IotaClientError> {
        let bad = |reason| IotaClientError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        let authority = if has_port(authority) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Self {
            authority,
            path: path.to_owned(),
        })
    }

    /// Resolves an href (absolute URL, absolute path or relative path) against this URL.
    fn join(&self, href: &str) -> Result<Self, IotaClientError> {
        if href.starts_with("http://") || href.contains("://") {
            return Self::parse(href);
        }
        if href.starts_with("//") {
            return Self::parse(&format!("http:{href}"));
        }
        let path = if href.starts_with('/') {
            href.to_owned()
        } else {
            let base = self.path.split(['?', '#']).next().unwrap_or("/");
            let dir = base.rfind('/').map_or("/", |i| &base[..=i]);
            format!("{dir}{href}")
        };
        Ok(Self {
            authority: self.authority.clone(),
            path,
        })
    }

    fn to_url(&self) -> String {
        format!("http://{}{}", self.authority, self.path)
    }
}

/// Whether `authority` ends with `:port` (IPv6 literals are bracketed).
fn has_port(authority: &str) -> bool {
    match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']') && authority.len() > i + 1,
        None => false,
    }
}

/// An HTTP answer: status and body.
struct Answer {
    status: StatusCode,
    body: Bytes,
}

/// Sends one request on a fresh connection and reads the whole answer.
async fn exchange(
    method: Method,
    url: &HttpUrl,
    headers: &[(&'static str, String)],
    body: Option<String>,
) -> Result<Answer, IotaClientError> {
    let method_name: &'static str = if method == Method::POST {
        "POST"
    } else {
        "GET"
    };
    let full_url = url.to_url();
    let work = async {
        let stream = TcpStream::connect(url.authority.as_str())
            .await
            .map_err(|source| IotaClientError::Connect {
                authority: url.authority.clone(),
                source,
            })?;
        let http_err = |source| IotaClientError::Http {
            method: method_name,
            url: full_url.clone(),
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http_err)?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(url.path.as_str())
            .header(HOST, url.authority.as_str())
            .header(ACCEPT, mmc::CONTENT_TYPE);
        for (name, value) in headers {
            req = req.header(
                *name,
                HeaderValue::from_str(value).map_err(hyper::http::Error::from)?,
            );
        }
        let req = match body {
            Some(text) => req
                .header(CONTENT_TYPE, mmc::CONTENT_TYPE)
                .body(Full::new(Bytes::from(text)))?,
            None => req.body(Full::new(Bytes::new()))?,
        };
        let resp = sender.send_request(req).await.map_err(http_err)?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), mmc::MAX_DOCUMENT_SIZE)
            .collect()
            .await
            .map_err(|e| IotaClientError::Body {
                method: method_name,
                url: full_url.clone(),
                reason: e.to_string(),
            })?
            .to_bytes();
        drop(sender);
        driver.abort();
        Ok(Answer { status, body })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, work)
        .await
        .map_err(|_| IotaClientError::Timeout {
            method: method_name,
            url: url.to_url(),
        })?
}

/// What an answer means: a document to act on, or a refusal.
enum Received {
    Document(MmcDocument),
    Refused { code: String, reason: String },
}

fn interpret(answer: &Answer) -> Result<Received, IotaClientError> {
    let status = answer.status.as_u16();
    match MmcDocument::decode(&answer.body) {
        Ok(MmcDocument {
            body: MmcBody::Error { code, reason },
            ..
        }) => Ok(Received::Refused { code, reason }),
        Ok(doc) if answer.status.is_success() => Ok(Received::Document(doc)),
        Err(source) if answer.status.is_success() => {
            Err(IotaClientError::BadDocument { status, source })
        }
        _ => Err(IotaClientError::UnexpectedStatus {
            status,
            body: String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]).into_owned(),
        }),
    }
}

async fn pause(net: &NetFaults) {
    if let Some(d) = net.delay_per_request {
        tokio::time::sleep(d).await;
    }
}

/// Runs one IOTA session for `handset` against the gateway at `bootstrap_url` (for example
/// `http://127.0.0.1:8181/iota/bootstrap`).
pub async fn run_session(
    bootstrap_url: &str,
    handset: &mut Handset,
    net: NetFaults,
) -> Result<SessionOutcome, IotaClientError> {
    let base = HttpUrl::parse(bootstrap_url)?;
    let identity = match handset.config().device {
        DeviceId::Esn(esn) => (HEADER_ESN, esn.to_string()),
        DeviceId::Meid(meid) => (HEADER_MEID, meid.to_string()),
    };
    pause(&net).await;
    let mut first_headers = vec![identity];
    if let Some(mdn) = &net.msisdn {
        first_headers.push((HEADER_MSISDN, mdn.clone()));
    }
    let mut answer = exchange(Method::GET, &base, &first_headers, None).await?;
    let mut documents = 0usize;
    let mut trace = Vec::new();
    loop {
        documents += 1;
        let status = answer.status.as_u16();
        let doc = match interpret(&answer)? {
            Received::Refused { code, reason } => {
                return Ok(SessionOutcome::Refused {
                    status,
                    code,
                    reason,
                    documents,
                    trace,
                })
            }
            Received::Document(doc) => doc,
        };
        let protocol = |reason| IotaClientError::Protocol { documents, reason };
        let messages = match doc.body {
            MmcBody::Terminate(action) => {
                if action == TerminateAction::Reboot {
                    handset.reboot();
                }
                return Ok(SessionOutcome::Terminated {
                    action,
                    documents,
                    trace,
                });
            }
            MmcBody::Messages {
                direction: Direction::Reverse,
                ..
            } => return Err(protocol("the gateway sent reverse (handset) messages")),
            MmcBody::Messages {
                direction: Direction::Forward,
                messages,
            } => messages,
            // `interpret` has taken every error document.
            MmcBody::Error { .. } => return Err(protocol("unexpected error document")),
        };
        if net.drop_after_documents == Some(documents) {
            return Ok(SessionOutcome::Dropped { documents, trace });
        }
        let session = doc
            .session
            .ok_or_else(|| protocol("no session token in a document with messages"))?;
        let seq = doc
            .seq
            .ok_or_else(|| protocol("no seq in a document with messages"))?;
        let next = doc
            .next
            .ok_or_else(|| protocol("no <next> in a document with messages"))?;
        let mut target = base.join(&next)?;
        if let Some(authority) = &net.post_to {
            target.authority = authority.clone();
        }

        let mut answers = Vec::with_capacity(messages.len());
        for (index, octets) in messages.into_iter().enumerate() {
            let fwd = ForwardMessage::decode(&octets)
                .map_err(|source| IotaClientError::UndecodableForward { seq, index, source })?;
            trace.push(TracedMessage {
                direction: Direction::Forward,
                octets,
            });
            let rev = handset
                .handle(&fwd)
                .encode()
                .map_err(IotaClientError::EncodeReverse)?;
            trace.push(TracedMessage {
                direction: Direction::Reverse,
                octets: rev.clone(),
            });
            answers.push(rev);
        }
        let reply = MmcDocument::reverse(&session, seq, answers).encode();

        pause(&net).await;
        answer = exchange(Method::POST, &target, &[], Some(reply.clone())).await?;
        if net.retransmit_each_post {
            pause(&net).await;
            let again = exchange(Method::POST, &target, &[], Some(reply)).await?;
            if again.status != answer.status || again.body != answer.body {
                return Err(IotaClientError::RetransmitMismatch {
                    seq,
                    first_status: answer.status.as_u16(),
                    second_status: again.status.as_u16(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn urls_parse_and_join() {
        let u = HttpUrl::parse("http://127.0.0.1:8181/iota/bootstrap").unwrap();
        assert_eq!(u.authority, "127.0.0.1:8181");
        assert_eq!(u.path, "/iota/bootstrap");
        assert_eq!(
            u.join("/iota/s/TOK").unwrap().to_url(),
            "http://127.0.0.1:8181/iota/s/TOK"
        );
        assert_eq!(
            u.join("s/TOK").unwrap().to_url(),
            "http://127.0.0.1:8181/iota/s/TOK"
        );
        assert_eq!(
            u.join("http://10.0.0.2:9000/x").unwrap().to_url(),
            "http://10.0.0.2:9000/x"
        );
        assert_eq!(
            HttpUrl::parse("http://gw").unwrap().to_url(),
            "http://gw:80/"
        );
        assert_eq!(
            HttpUrl::parse("http://[::1]:81/a").unwrap().authority,
            "[::1]:81"
        );
        assert_eq!(
            HttpUrl::parse("http://[::1]/a").unwrap().authority,
            "[::1]:80"
        );
        assert!(HttpUrl::parse("https://gw/").is_err());
        assert!(HttpUrl::parse("http:///x").is_err());
    }
}
