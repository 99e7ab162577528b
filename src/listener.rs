//! Connection caps for the gateway's listeners: at most so many connections on a listener, and
//! at most so many from one source address. Every listener (the admin and IOTA HTTP servers, the
//! OSPP handler) asks its [`ConnectionGate`] before it serves an accepted connection; a
//! connection over either cap is closed at once, so a flood of one listener can neither take
//! the process's file descriptors nor starve the other listeners.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The caps of one listener: how many connections it serves at once, in total and per source
/// address. Shared by the accept loop and the permits it hands out.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionGate {
    inner: Arc<Gate>,
}

#[derive(Debug)]
struct Gate {
    max_total: usize,
    max_per_source: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The listener serves its maximum of connections.
    Total,
    /// The source address has its maximum of connections open.
    Source,
}

impl Refused {
    /// A short label (for logs and the `reason` label of the refusal counter).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Total => "listener-full",
            Self::Source => "source-full",
        }
    }
}

/// An admitted connection: counted until dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Arc<Gate>,
    source: IpAddr,
}

impl ConnectionGate {
    /// A gate admitting at most `max_total` connections, `max_per_source` from one address.
    pub(crate) fn new(max_total: usize, max_per_source: usize) -> Self {
        Self {
            inner: Arc::new(Gate {
                max_total,
                max_per_source,
                open: Mutex::new(Open::default()),
            }),
        }
    }

    /// Admits a connection from `source`, or says which cap it would exceed.
    pub(crate) fn admit(&self, source: IpAddr) -> Result<Permit, Refused> {
        let mut open = self.inner.lock();
        if open.total >= self.inner.max_total {
            return Err(Refused::Total);
        }
        let from_source = open.by_source.entry(source).or_insert(0);
        if *from_source >= self.inner.max_per_source {
            return Err(Refused::Source);
        }
        *from_source += 1;
        open.total += 1;
        Ok(Permit {
            gate: self.inner.clone(),
            source,
        })
    }

    /// How many connections are open.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.inner.lock().total
    }
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.gate.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn caps_per_source_and_in_total_and_releases_on_drop() {
        let gate = ConnectionGate::new(3, 2);
        let a1 = gate.admit(ip(1));
        let a2 = gate.admit(ip(1));
        assert!(a1.is_ok() && a2.is_ok());
        assert_eq!(gate.admit(ip(1)).err(), Some(Refused::Source));
        let b1 = gate.admit(ip(2));
        assert!(b1.is_ok());
        assert_eq!(gate.admit(ip(3)).err(), Some(Refused::Total));
        drop(a1);
        assert_eq!(gate.open(), 2);
        assert!(gate.admit(ip(1)).is_ok(), "a slot of the source came back");
        drop(a2);
        drop(b1);
        assert_eq!(gate.open(), 0);
        assert!(gate.inner.lock().by_source.is_empty());
    }
}
