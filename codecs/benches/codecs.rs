//! Criterion benchmarks for the codecs: a 1 KiB classic PRL (encode, decode, segmentation) and
//! the two IS-683 requests that carry provisioning data (Download and SSPR Download).
//!
//! Run with `cargo bench -p otagw-codecs`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use otagw_codecs::is683::{
    CdmaNam, DownloadRequest, ForwardMessage, ImsiParams, Mdn, NamDownloadBlock, SidNid,
    SsprDownloadRequest,
};
use otagw_codecs::prl::{segment, AcqRecord, ClassicPrl, Nid, PrefNeg, Reassembler, SysRecord};

/// A classic PRL of close to 1024 octets: 16 acquisition records and as many system records as
/// fit.
fn prl_1k() -> ClassicPrl {
    let acq_records: Vec<AcqRecord> = (0..16u16)
        .map(|i| match i % 4 {
            0 => AcqRecord::PcsCdmaBlocks {
                blocks: vec![0, 1, 2, 7],
            },
            1 => AcqRecord::CellularCdmaStandard { a_b: 3, pri_sec: 3 },
            2 => AcqRecord::PcsCdmaChannels {
                chans: vec![25, 50, 75, 100 + i],
            },
            _ => AcqRecord::CellularCdmaCustom {
                chans: vec![283, 384, 691],
            },
        })
        .collect();
    let mut prl = ClassicPrl {
        pr_list_id: 10_042,
        pref_only: false,
        def_roam_ind: 1,
        acq_records,
        sys_records: Vec::new(),
    };
    let mut i = 0u16;
    while prl.encode().unwrap().len() < 1020 {
        prl.sys_records.push(SysRecord {
            sid: 4096 + i,
            nid: if i % 5 == 0 {
                Nid::Included(i)
            } else {
                Nid::Wildcard
            },
            pref_neg: if i % 7 == 6 {
                PrefNeg::Negative
            } else {
                PrefNeg::Preferred {
                    pri: i % 2 == 0,
                    roam_ind: (i % 3) as u8,
                }
            },
            geo: i % 4 != 0,
            acq_index: i % 16,
        });
        i += 1;
    }
    prl
}

fn prl_benches(c: &mut Criterion) {
    let prl = prl_1k();
    let bytes = prl.encode().unwrap();
    let mut g = c.benchmark_group("prl_1k");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("encode", |b| b.iter(|| black_box(&prl).encode().unwrap()));
    g.bench_function("decode", |b| {
        b.iter(|| ClassicPrl::decode(black_box(&bytes)).unwrap())
    });
    g.bench_function("segment_251", |b| {
        b.iter(|| segment(black_box(&bytes), 251).unwrap())
    });
    let segments = segment(&bytes, 251).unwrap();
    g.bench_function("reassemble_251", |b| {
        b.iter(|| {
            let mut r = Reassembler::new();
            for s in black_box(&segments) {
                r.push_segment(s).unwrap();
            }
            r.finish().unwrap()
        })
    });
    g.finish();
}

fn is683_benches(c: &mut Criterion) {
    let download = ForwardMessage::Download(DownloadRequest {
        blocks: vec![
            NamDownloadBlock::Cdma(CdmaNam {
                imsi_m: ImsiParams::class0("310", "00", "5551234567").unwrap(),
                sid_nid: vec![
                    SidNid {
                        sid: 4139,
                        nid: 65535,
                    },
                    SidNid { sid: 22, nid: 5 },
                ],
                ..CdmaNam::default()
            }),
            NamDownloadBlock::Mdn(Mdn::new("5551234567").unwrap()),
        ],
        fresh: None,
    });
    let download_bytes = download.encode().unwrap();

    let prl_bytes = prl_1k().encode().unwrap();
    let sspr = ForwardMessage::SsprDownload(SsprDownloadRequest {
        block_id: 0,
        last_segment: false,
        segment_offset: 0,
        segment_data: prl_bytes[..251].to_vec(),
        fresh: None,
    });
    let sspr_bytes = sspr.encode().unwrap();

    let mut g = c.benchmark_group("is683");
    g.bench_function("download_request_encode", |b| {
        b.iter(|| black_box(&download).encode().unwrap())
    });
    g.bench_function("download_request_decode", |b| {
        b.iter(|| ForwardMessage::decode(black_box(&download_bytes)).unwrap())
    });
    g.bench_function("sspr_download_request_encode", |b| {
        b.iter(|| black_box(&sspr).encode().unwrap())
    });
    g.bench_function("sspr_download_request_decode", |b| {
        b.iter(|| ForwardMessage::decode(black_box(&sspr_bytes)).unwrap())
    });
    g.finish();
}

/// An SMDPP Invoke carrying a 200-octet SSPR Download Request, as the star-code flow sends it,
/// encoded down to M3UA DATA / SCCP UDT / TCAP and decoded back up.
fn smdpp_benches(c: &mut Criterion) {
    use otagw_codecs::ansi41::{self, service_indicator, Ansi41Parameters, Msid, SmdppInvoke};
    use otagw_codecs::identity::Esn;
    use otagw_codecs::is683::{ForwardMessage, SsprDownloadRequest};
    use otagw_codecs::tcap::{Package, TcapMessage};

    let is683 = ForwardMessage::SsprDownload(SsprDownloadRequest {
        block_id: 0,
        last_segment: false,
        segment_offset: 0,
        segment_data: vec![0x5A; 190],
        fresh: None,
    })
    .encode()
    .expect("encodable");
    let mut invoke = SmdppInvoke::new(is683, 0);
    invoke.service_indicator = Some(service_indicator::CDMA_OTASP);
    invoke.esn = Some(Esn::new(0x1A2B_3C4D));
    invoke.msid = "6195551234".parse().ok().map(Msid::Min);
    invoke.trn = Some("5550001".into());
    let message = TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: [0, 0, 0, 1],
        },
        components: vec![ansi41::invoke(&invoke, 1).expect("encodable")],
        dialogue: None,
    };
    let bytes = message.encode().expect("encodable");
    let mut g = c.benchmark_group("smdpp");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("encode TCAP+ANSI-41 (SSPR Download inside)", |b| {
        b.iter(|| {
            let params = invoke.to_parameters().expect("encodable");
            let m = TcapMessage {
                package: Package::Query {
                    with_permission: true,
                    otid: [0, 0, 0, 1],
                },
                components: vec![otagw_codecs::tcap::Component::Invoke {
                    last: true,
                    invoke_id: Some(1),
                    correlation_id: None,
                    operation: SmdppInvoke::OPERATION.code(),
                    parameters: Some(params),
                }],
                dialogue: None,
            };
            std::hint::black_box(m.encode().expect("encodable"))
        })
    });
    g.bench_function("decode TCAP+ANSI-41+IS-683", |b| {
        b.iter(|| {
            let m = TcapMessage::decode(std::hint::black_box(&bytes)).expect("decodable");
            let Some(otagw_codecs::tcap::Component::Invoke { parameters, .. }) =
                m.components.first()
            else {
                panic!("an invoke")
            };
            let smdpp = SmdppInvoke::from_parameters(parameters.as_ref()).expect("decodable");
            std::hint::black_box(ForwardMessage::decode(&smdpp.bearer_data).expect("decodable"))
        })
    });
    g.finish();
}

criterion_group!(benches, prl_benches, is683_benches, smdpp_benches);
criterion_main!(benches);
