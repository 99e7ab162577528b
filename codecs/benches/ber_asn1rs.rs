//! The hand-written BER/TLV layer against asn1-rs's BER parser, on the same work: decode an ANSI
//! TCAP QueryWithPermission carrying one SMDPP Invoke (an IS-683 SSPR Download Request of 200
//! octets in SMS_BearerData, ESN, MIN, MSCID, TRN, ServiceIndicator: private and
//! context-specific classes, long-form tags 105-195) down to the typed `SmdppInvoke`.
//!
//! - `otagw`: `TcapMessage::decode` then `SmdppInvoke::from_parameters`.
//! - `asn1-rs`: `asn1_rs::Any::from_ber` for every TLV level (package, transaction ID,
//!   component sequence, component, operation code, parameter SET and its elements), the
//!   elements handed to the same `SmdppInvoke::from_parameters`.
//!
//! It also checks both decoders are total on every truncation of the message (no panic, an
//! error). Run with `cargo bench -p otagw-codecs --bench ber_asn1rs`; the figures and the
//! decision are in docs/codecs.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use asn1_rs::{Any, FromBer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use otagw_codecs::ansi41::{
    invoke, service_indicator, teleservice, Ansi41Parameters, Mscid, Msid, SmdppInvoke,
};
use otagw_codecs::ber::{Class, Identifier, Tlv};
use otagw_codecs::identity::Esn;
use otagw_codecs::tcap::{Component, Package, ParameterKind, Parameters, TcapMessage};

/// The message both decoders read.
fn message() -> Vec<u8> {
    let mut smdpp = SmdppInvoke::new((0..200u8).collect(), teleservice::NOT_USED);
    smdpp.service_indicator = Some(service_indicator::CDMA_OTASP);
    smdpp.esn = Some(Esn::new(0x1A2B_3C4D));
    smdpp.msid = Some(Msid::Min("2125551234".parse().unwrap()));
    smdpp.mscid = Some(Mscid {
        market_id: 4145,
        switch_number: 1,
    });
    smdpp.trn = Some("5551000".to_owned());
    TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: [0, 0, 1, 0],
        },
        components: vec![invoke(&smdpp, 1).unwrap()],
        dialogue: None,
    }
    .encode()
    .unwrap()
}

/// The hand-written layer.
fn ours(bytes: &[u8]) -> Option<SmdppInvoke> {
    let m = TcapMessage::decode(bytes).ok()?;
    let Some(Component::Invoke { parameters, .. }) = m.components.first() else {
        return None;
    };
    SmdppInvoke::from_parameters(parameters.as_ref()).ok()
}

fn class_of(c: asn1_rs::Class) -> Class {
    match c {
        asn1_rs::Class::Universal => Class::Universal,
        asn1_rs::Class::Application => Class::Application,
        asn1_rs::Class::ContextSpecific => Class::ContextSpecific,
        asn1_rs::Class::Private => Class::Private,
    }
}

/// Every TLV in `data`, in order; `None` if one does not parse or something is left over.
fn children(mut data: &[u8]) -> Option<Vec<Any<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (rest, any) = Any::from_ber(data).ok()?;
        out.push(any);
        data = rest;
    }
    Some(out)
}

fn is_private(a: &Any<'_>, tag: u32, constructed: bool) -> bool {
    a.header.class() == asn1_rs::Class::Private
        && a.header.tag().0 == tag
        && a.header.is_constructed() == constructed
}

/// The same decode on asn1-rs: the TCAP structure walked with `Any`, the parameters typed by
/// the same ANSI-41 code.
fn asn1rs(bytes: &[u8]) -> Option<SmdppInvoke> {
    let (rest, package) = Any::from_ber(bytes).ok()?;
    if !rest.is_empty() || !is_private(&package, 2, true) {
        return None;
    }
    let parts = children(package.data)?;
    let tid = parts.first().filter(|a| is_private(a, 7, false))?;
    if tid.data.len() != 4 {
        return None;
    }
    let seq = parts.get(1).filter(|a| is_private(a, 8, true))?;
    let components = children(seq.data)?;
    let component = components.first().filter(|a| is_private(a, 9, true))?;
    let fields = children(component.data)?;
    let _ids = fields.first().filter(|a| is_private(a, 15, false))?;
    let op = fields.get(1).filter(|a| is_private(a, 17, false))?;
    if op.data.len() != 2 {
        return None;
    }
    let set = fields.get(2).filter(|a| is_private(a, 18, true))?;
    let elements = children(set.data)?
        .into_iter()
        .map(|e| {
            Tlv::new(
                Identifier {
                    class: class_of(e.header.class()),
                    constructed: e.header.is_constructed(),
                    tag: e.header.tag().0,
                },
                e.data.to_vec(),
            )
        })
        .collect();
    let parameters = Parameters {
        kind: ParameterKind::Set,
        elements,
    };
    SmdppInvoke::from_parameters(Some(&parameters)).ok()
}

fn bench(c: &mut Criterion) {
    let bytes = message();
    let want = ours(&bytes).expect("ours decodes it");
    assert_eq!(asn1rs(&bytes).as_ref(), Some(&want), "both agree");
    // Total: every truncation is refused, by both, without a panic.
    for n in 0..bytes.len() {
        assert!(ours(&bytes[..n]).is_none(), "ours: prefix {n}");
        assert!(asn1rs(&bytes[..n]).is_none(), "asn1-rs: prefix {n}");
    }
    let mut g = c.benchmark_group("tcap_smdpp_decode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("otagw", |b| b.iter(|| ours(black_box(&bytes))));
    g.bench_function("asn1-rs", |b| b.iter(|| asn1rs(black_box(&bytes))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
