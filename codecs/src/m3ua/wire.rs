//! How each M3UA message and parameter reads and writes itself ([`Codec`]).
//!
//! [`Message`] reads the common header and dispatches on class/type to the body of that message
//! ([`Body`]: ERR, NTFY, DATA, the SSNM messages, the ASPSM and ASPTM messages), which takes its
//! typed parameters by tag from the message's parameter area ([`Params`]) and leaves the rest
//! as `extra`. Parameters are framed by [`Parameter`]'s codec (tag, length, value, padding);
//! the structured values (Protocol Data, Affected Point Code entries, Status, User/Cause) read
//! and write themselves.

use super::*;

type Out = Vec<u8>;

// ---- parameters ----

/// One parameter borrowed from the message being read.
#[derive(Debug, Clone, Copy)]
struct RawParameter<'a> {
    tag: u16,
    value: &'a [u8],
}

impl<'a> RawParameter<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let available = r.left();
        let Some(head) = r.take_array::<4>() else {
            return Err(M3uaError::Truncated {
                what: "parameter header",
                needed: 4,
                available,
            });
        };
        let tag = u16::from_be_bytes([head[0], head[1]]);
        let length = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let padded = length.div_ceil(4) * 4;
        let bad = M3uaError::ParameterLength {
            tag,
            length,
            available,
        };
        if length < 4 || padded > available {
            return Err(bad);
        }
        let value = r.take(length - 4).ok_or(bad.clone())?;
        r.take(padded - length).ok_or(bad)?;
        Ok(Self { tag, value })
    }

    fn to_owned(self) -> Parameter {
        Parameter::new(self.tag, self.value)
    }
}

impl Codec for Parameter {
    type Error = M3uaError;

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        RawParameter::read(r).map(RawParameter::to_owned)
    }

    fn encode(&self, out: &mut Out) -> Result<()> {
        put_raw(out, self.tag, &self.value)
    }
}

/// Appends a parameter whose value `value` writes, with its length and padding.
fn put_with(out: &mut Out, tag: u16, value: impl FnOnce(&mut Out) -> Result<()>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    value(out)?;
    let len = out.len() - start;
    let Ok(len16) = u16::try_from(len) else {
        return Err(M3uaError::TooLarge {
            what: "parameter value",
            len: len - 4,
            max: usize::from(u16::MAX) - 4,
        });
    };
    out[start + 2..start + 4].copy_from_slice(&len16.to_be_bytes());
    out.resize(start + len.div_ceil(4) * 4, 0);
    Ok(())
}

fn put_raw(out: &mut Out, tag: u16, value: &[u8]) -> Result<()> {
    put_with(out, tag, |o| {
        o.extend_from_slice(value);
        Ok(())
    })
}

fn put_u32(out: &mut Out, tag: u16, value: Option<u32>) -> Result<()> {
    match value {
        Some(v) => put_raw(out, tag, &v.to_be_bytes()),
        None => Ok(()),
    }
}

fn put_u32_list(out: &mut Out, tag: u16, name: &'static str, list: Option<&[u32]>) -> Result<()> {
    let Some(list) = list else { return Ok(()) };
    if list.is_empty() {
        return Err(M3uaError::EmptyList(name));
    }
    put_with(out, tag, |o| {
        for w in list {
            o.extend_from_slice(&w.to_be_bytes());
        }
        Ok(())
    })
}

fn put_routing_context(out: &mut Out, rc: Option<&[u32]>) -> Result<()> {
    put_u32_list(out, tag::ROUTING_CONTEXT, "Routing Context", rc)
}

fn put_info(out: &mut Out, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) => put_raw(out, tag::INFO_STRING, s.as_bytes()),
        None => Ok(()),
    }
}

fn put_apc(out: &mut Out, list: &[AffectedPointCode]) -> Result<()> {
    if list.is_empty() {
        return Err(M3uaError::EmptyList("Affected Point Code"));
    }
    put_with(out, tag::AFFECTED_POINT_CODE, |o| {
        list.iter().try_for_each(|a| a.encode(o))
    })
}

/// Appends a parameter whose value is one [`Codec`] value.
fn put_value<T: Codec<Error = M3uaError>>(out: &mut Out, tag: u16, value: &T) -> Result<()> {
    put_with(out, tag, |o| value.encode(o))
}

fn invalid(name: &'static str, reason: impl Into<String>) -> M3uaError {
    M3uaError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

fn exact4(name: &'static str, v: &[u8]) -> Result<[u8; 4]> {
    <[u8; 4]>::try_from(v).map_err(|_| invalid(name, format!("{} octets, expected 4", v.len())))
}

/// The parameters of one message being read: each typed field takes its own out by tag (twice
/// is an error); what is left is the message's `extra`.
struct Params<'a> {
    message: &'static str,
    list: Vec<Option<RawParameter<'a>>>,
}

impl<'a> Params<'a> {
    fn read(message: &'static str, r: &mut Reader<'a>) -> Result<Self> {
        let mut list = Vec::new();
        while r.any_left() {
            list.push(Some(RawParameter::read(r)?));
        }
        Ok(Self { message, list })
    }

    /// The value of parameter `tag`, if present once.
    fn take(&mut self, tag: u16) -> Result<Option<&'a [u8]>> {
        let mut found = None;
        for slot in &mut self.list {
            if slot.as_ref().is_some_and(|p| p.tag == tag) {
                if found.is_some() {
                    return Err(M3uaError::DuplicateParameter {
                        message: self.message,
                        tag,
                    });
                }
                found = slot.take().map(|p| p.value);
            }
        }
        Ok(found)
    }

    fn take_with<T>(
        &mut self,
        tag: u16,
        f: impl FnOnce(&'a [u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        self.take(tag)?.map(f).transpose()
    }

    fn require<T>(
        &mut self,
        tag: u16,
        name: &'static str,
        f: impl FnOnce(&'a [u8]) -> Result<T>,
    ) -> Result<T> {
        self.take_with(tag, f)?.ok_or(M3uaError::MissingParameter {
            message: self.message,
            name,
            tag,
        })
    }

    fn u32(&mut self, tag: u16, name: &'static str) -> Result<Option<u32>> {
        self.take_with(tag, |v| exact4(name, v).map(u32::from_be_bytes))
    }

    fn routing_context(&mut self) -> Result<Option<Vec<u32>>> {
        self.take_with(tag::ROUTING_CONTEXT, |v| {
            read_u32_list("Routing Context", v)
        })
    }

    fn info_string(&mut self) -> Result<Option<String>> {
        self.take_with(tag::INFO_STRING, |v| {
            String::from_utf8(v.to_vec())
                .map_err(|e| invalid("Info String", format!("not UTF-8: {e}")))
        })
    }

    fn raw(&mut self, tag: u16) -> Result<Option<Vec<u8>>> {
        Ok(self.take(tag)?.map(<[u8]>::to_vec))
    }

    /// The parameters no typed field took, in arrival order.
    fn extra(&mut self) -> Vec<Parameter> {
        self.list
            .drain(..)
            .flatten()
            .map(RawParameter::to_owned)
            .collect()
    }
}

fn read_u32_list(name: &'static str, v: &[u8]) -> Result<Vec<u32>> {
    if v.is_empty() || v.len() % 4 != 0 {
        return Err(invalid(
            name,
            format!("{} octets, expected a non-zero multiple of 4", v.len()),
        ));
    }
    Ok(v.chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn read_apc(v: &[u8]) -> Result<Vec<AffectedPointCode>> {
    if v.is_empty() || v.len() % 4 != 0 {
        return Err(invalid(
            "Affected Point Code",
            format!("{} octets, expected a non-zero multiple of 4", v.len()),
        ));
    }
    let mut r = Reader::new(v);
    let mut out = Vec::with_capacity(v.len() / 4);
    while r.any_left() {
        out.push(AffectedPointCode::read(&mut r)?);
    }
    Ok(out)
}

/// Reads a whole parameter value as one [`Codec`] value.
fn read_value<T: Codec<Error = M3uaError>>(v: &[u8]) -> Result<T> {
    T::read(&mut Reader::new(v))
}

// ---- structured parameter values ----

impl Codec for AffectedPointCode {
    type Error = M3uaError;

    /// One 4-octet entry: mask (8), point code (24).
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let w = r
            .u32()
            .ok_or_else(|| invalid("Affected Point Code", "truncated entry"))?;
        Ok(Self {
            mask: (w >> 24) as u8,
            point_code: PointCode(w & PointCode::MAX),
        })
    }

    fn encode(&self, out: &mut Out) -> Result<()> {
        out.extend_from_slice(&((u32::from(self.mask) << 24) | self.point_code.0).to_be_bytes());
        Ok(())
    }
}

impl Codec for Status {
    type Error = M3uaError;

    /// The whole Status value: Status Type (16), Status Information (16).
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let b = exact4("Status", r.rest())?;
        Ok(Self {
            status_type: u16::from_be_bytes([b[0], b[1]]),
            status_info: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    fn encode(&self, out: &mut Out) -> Result<()> {
        out.extend_from_slice(&self.status_type.to_be_bytes());
        out.extend_from_slice(&self.status_info.to_be_bytes());
        Ok(())
    }
}

impl Codec for UserCause {
    type Error = M3uaError;

    /// The whole User/Cause value: Unavailability Cause (16), MTP3 User Identity (16).
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let b = exact4("User/Cause", r.rest())?;
        Ok(Self {
            cause: u16::from_be_bytes([b[0], b[1]]),
            user: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    fn encode(&self, out: &mut Out) -> Result<()> {
        out.extend_from_slice(&self.cause.to_be_bytes());
        out.extend_from_slice(&self.user.to_be_bytes());
        Ok(())
    }
}

impl Codec for ProtocolData {
    type Error = M3uaError;

    /// The whole Protocol Data value: OPC (32), DPC (32), SI, NI, MP, SLS (8 each), user data.
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let left = r.left();
        let Some(label) = r.take_array::<12>() else {
            return Err(invalid(
                "Protocol Data",
                format!("{left} octets, the routing label alone needs 12"),
            ));
        };
        let pc = |i: usize| {
            let w = u32::from_be_bytes([label[i], label[i + 1], label[i + 2], label[i + 3]]);
            PointCode::new(w).map_err(|_| {
                invalid(
                    "Protocol Data",
                    format!("point code {w:#x} exceeds 24 bits"),
                )
            })
        };
        Ok(Self {
            opc: pc(0)?,
            dpc: pc(4)?,
            si: label[8],
            ni: label[9],
            mp: label[10],
            sls: label[11],
            user_data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Out) -> Result<()> {
        out.extend_from_slice(&self.opc.0.to_be_bytes());
        out.extend_from_slice(&self.dpc.0.to_be_bytes());
        out.extend_from_slice(&[self.si, self.ni, self.mp, self.sls]);
        out.extend_from_slice(&self.user_data);
        Ok(())
    }
}

// ---- message bodies ----

/// The parameters of one message type: read from the message's parameter set, written in the
/// order of the module table. `write` returns the `extra` parameters to append after them.
trait Body: Sized {
    fn read(p: &mut Params<'_>) -> Result<Self>;
    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]>;
}

impl Body for ErrorMessage {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            error_code: p.require(tag::ERROR_CODE, "Error Code", |v| {
                exact4("Error Code", v).map(u32::from_be_bytes)
            })?,
            routing_context: p.routing_context()?,
            network_appearance: p.u32(tag::NETWORK_APPEARANCE, "Network Appearance")?,
            affected_point_codes: p.take_with(tag::AFFECTED_POINT_CODE, read_apc)?,
            diagnostic: p.raw(tag::DIAGNOSTIC_INFORMATION)?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_u32(out, tag::ERROR_CODE, Some(self.error_code))?;
        put_routing_context(out, self.routing_context.as_deref())?;
        put_u32(out, tag::NETWORK_APPEARANCE, self.network_appearance)?;
        if let Some(apc) = &self.affected_point_codes {
            put_apc(out, apc)?;
        }
        if let Some(d) = &self.diagnostic {
            put_raw(out, tag::DIAGNOSTIC_INFORMATION, d)?;
        }
        Ok(&self.extra)
    }
}

impl Body for Notify {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            status: p.require(tag::STATUS, "Status", read_value)?,
            asp_identifier: p.u32(tag::ASP_IDENTIFIER, "ASP Identifier")?,
            routing_context: p.routing_context()?,
            info_string: p.info_string()?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_value(out, tag::STATUS, &self.status)?;
        put_u32(out, tag::ASP_IDENTIFIER, self.asp_identifier)?;
        put_routing_context(out, self.routing_context.as_deref())?;
        put_info(out, self.info_string.as_deref())?;
        Ok(&self.extra)
    }
}

impl Body for Data {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            network_appearance: p.u32(tag::NETWORK_APPEARANCE, "Network Appearance")?,
            routing_context: p.routing_context()?,
            protocol_data: p.require(tag::PROTOCOL_DATA, "Protocol Data", read_value)?,
            correlation_id: p.u32(tag::CORRELATION_ID, "Correlation ID")?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_u32(out, tag::NETWORK_APPEARANCE, self.network_appearance)?;
        put_routing_context(out, self.routing_context.as_deref())?;
        put_value(out, tag::PROTOCOL_DATA, &self.protocol_data)?;
        put_u32(out, tag::CORRELATION_ID, self.correlation_id)?;
        Ok(&self.extra)
    }
}

impl DestinationState {
    /// Network Appearance, Routing Context, Affected Point Code (mandatory) and Info String;
    /// the caller takes its own parameters, then the extras.
    fn read_common(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            network_appearance: p.u32(tag::NETWORK_APPEARANCE, "Network Appearance")?,
            routing_context: p.routing_context()?,
            affected_point_codes: p.require(
                tag::AFFECTED_POINT_CODE,
                "Affected Point Code",
                read_apc,
            )?,
            info_string: p.info_string()?,
            extra: Vec::new(),
        })
    }

    fn write_head(&self, out: &mut Out) -> Result<()> {
        put_u32(out, tag::NETWORK_APPEARANCE, self.network_appearance)?;
        put_routing_context(out, self.routing_context.as_deref())?;
        put_apc(out, &self.affected_point_codes)
    }
}

impl Body for DestinationState {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        let mut s = Self::read_common(p)?;
        s.extra = p.extra();
        Ok(s)
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        self.write_head(out)?;
        put_info(out, self.info_string.as_deref())?;
        Ok(&self.extra)
    }
}

impl Body for Congestion {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        let mut state = DestinationState::read_common(p)?;
        let concerned_destination = p.take_with(tag::CONCERNED_DESTINATION, |v| {
            let b = exact4("Concerned Destination", v)?;
            Ok(PointCode(u32::from_be_bytes([0, b[1], b[2], b[3]])))
        })?;
        let congestion_level = p.take_with(tag::CONGESTION_INDICATIONS, |v| {
            Ok(exact4("Congestion Indications", v)?[3])
        })?;
        state.extra = p.extra();
        Ok(Self {
            state,
            concerned_destination,
            congestion_level,
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        self.state.write_head(out)?;
        put_u32(
            out,
            tag::CONCERNED_DESTINATION,
            self.concerned_destination.map(|pc| pc.0),
        )?;
        put_u32(
            out,
            tag::CONGESTION_INDICATIONS,
            self.congestion_level.map(u32::from),
        )?;
        put_info(out, self.state.info_string.as_deref())?;
        Ok(&self.state.extra)
    }
}

impl Body for UserPartUnavailable {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        let mut state = DestinationState::read_common(p)?;
        let user_cause = p.require(tag::USER_CAUSE, "User/Cause", read_value)?;
        state.extra = p.extra();
        Ok(Self { state, user_cause })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        self.state.write_head(out)?;
        put_value(out, tag::USER_CAUSE, &self.user_cause)?;
        put_info(out, self.state.info_string.as_deref())?;
        Ok(&self.state.extra)
    }
}

impl Body for AspUp {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            asp_identifier: p.u32(tag::ASP_IDENTIFIER, "ASP Identifier")?,
            info_string: p.info_string()?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_u32(out, tag::ASP_IDENTIFIER, self.asp_identifier)?;
        put_info(out, self.info_string.as_deref())?;
        Ok(&self.extra)
    }
}

impl Body for AspDown {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            info_string: p.info_string()?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_info(out, self.info_string.as_deref())?;
        Ok(&self.extra)
    }
}

impl Body for Heartbeat {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            data: p.raw(tag::HEARTBEAT_DATA)?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        if let Some(d) = &self.data {
            put_raw(out, tag::HEARTBEAT_DATA, d)?;
        }
        Ok(&self.extra)
    }
}

impl Body for AspActive {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            traffic_mode: p
                .u32(tag::TRAFFIC_MODE_TYPE, "Traffic Mode Type")?
                .map(TrafficMode::from),
            routing_context: p.routing_context()?,
            info_string: p.info_string()?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_u32(
            out,
            tag::TRAFFIC_MODE_TYPE,
            self.traffic_mode.map(TrafficMode::code),
        )?;
        put_routing_context(out, self.routing_context.as_deref())?;
        put_info(out, self.info_string.as_deref())?;
        Ok(&self.extra)
    }
}

impl Body for AspInactive {
    fn read(p: &mut Params<'_>) -> Result<Self> {
        Ok(Self {
            routing_context: p.routing_context()?,
            info_string: p.info_string()?,
            extra: p.extra(),
        })
    }

    fn write<'s>(&'s self, out: &mut Out) -> Result<&'s [Parameter]> {
        put_routing_context(out, self.routing_context.as_deref())?;
        put_info(out, self.info_string.as_deref())?;
        Ok(&self.extra)
    }
}

// ---- the message ----

impl Codec for Message {
    type Error = M3uaError;

    /// Reads one message from the front of `r`: the common header, then the parameter area
    /// the header's length says, dispatched to the body of its class/type.
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let available = r.left();
        let Some(header) = r.take_array::<HEADER_LEN>() else {
            return Err(M3uaError::Truncated {
                what: "common header",
                needed: HEADER_LEN,
                available,
            });
        };
        if header[0] != VERSION {
            return Err(M3uaError::UnsupportedVersion(header[0]));
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let n = len as usize;
        if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&n) {
            return Err(M3uaError::BadMessageLength(len));
        }
        let mut body = r.sub(n - HEADER_LEN).ok_or(M3uaError::Truncated {
            what: "message",
            needed: n,
            available,
        })?;
        let (class, msg_type) = (header[2], header[3]);
        let Some((name, _)) = describe(class, msg_type) else {
            let mut params = Vec::new();
            while body.any_left() {
                params.push(Parameter::read(&mut body)?);
            }
            return Ok(Message::Other {
                class,
                msg_type,
                params,
            });
        };
        let p = &mut Params::read(name, &mut body)?;
        Ok(match (class, msg_type) {
            (0, 0) => Message::Err(Body::read(p)?),
            (0, 1) => Message::Ntfy(Body::read(p)?),
            (1, 1) => Message::Data(Body::read(p)?),
            (2, 1) => Message::Duna(Body::read(p)?),
            (2, 2) => Message::Dava(Body::read(p)?),
            (2, 3) => Message::Daud(Body::read(p)?),
            (2, 4) => Message::Scon(Body::read(p)?),
            (2, 5) => Message::Dupu(Body::read(p)?),
            (2, 6) => Message::Drst(Body::read(p)?),
            (3, 1) => Message::AspUp(Body::read(p)?),
            (3, 2) => Message::AspDn(Body::read(p)?),
            (3, 3) => Message::Beat(Body::read(p)?),
            (3, 4) => Message::AspUpAck(Body::read(p)?),
            (3, 5) => Message::AspDnAck(Body::read(p)?),
            (3, 6) => Message::BeatAck(Body::read(p)?),
            (4, 1) => Message::AspAc(Body::read(p)?),
            (4, 2) => Message::AspIa(Body::read(p)?),
            (4, 3) => Message::AspAcAck(Body::read(p)?),
            _ => Message::AspIaAck(Body::read(p)?),
        })
    }

    /// Appends the message: header, known parameters in table order, then `extra`.
    fn encode(&self, out: &mut Out) -> Result<()> {
        let (class, msg_type) = self.class_and_type();
        let start = out.len();
        out.extend_from_slice(&[VERSION, 0, class, msg_type, 0, 0, 0, 0]);
        let extra: &[Parameter] = match self {
            Self::Err(m) => m.write(out)?,
            Self::Ntfy(m) => m.write(out)?,
            Self::Data(m) => m.write(out)?,
            Self::Duna(m) | Self::Dava(m) | Self::Daud(m) | Self::Drst(m) => m.write(out)?,
            Self::Scon(m) => m.write(out)?,
            Self::Dupu(m) => m.write(out)?,
            Self::AspUp(m) | Self::AspUpAck(m) => m.write(out)?,
            Self::AspDn(m) | Self::AspDnAck(m) => m.write(out)?,
            Self::Beat(m) | Self::BeatAck(m) => m.write(out)?,
            Self::AspAc(m) | Self::AspAcAck(m) => m.write(out)?,
            Self::AspIa(m) | Self::AspIaAck(m) => m.write(out)?,
            Self::Other { params, .. } => params,
        };
        if !matches!(self, Self::Other { .. }) {
            if let Some((name, known)) = describe(class, msg_type) {
                if let Some(p) = extra.iter().find(|p| known.contains(&p.tag)) {
                    return Err(M3uaError::ExtraShadowsKnown {
                        message: name,
                        tag: p.tag,
                    });
                }
            }
        }
        for p in extra {
            p.encode(out)?;
        }
        let total = out.len() - start;
        if total > MAX_MESSAGE_LEN {
            return Err(M3uaError::TooLarge {
                what: "message",
                len: total,
                max: MAX_MESSAGE_LEN,
            });
        }
        out[start + 4..start + 8].copy_from_slice(&(total as u32).to_be_bytes());
        Ok(())
    }
}
