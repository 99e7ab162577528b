//! `otagw-sim`: runs simulated network elements against an otagw gateway.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use otagw_codecs::identity::{DeviceId, Esn, Meid, Min};
use otagw_codecs::is683::nam::{ImsiParams, NamDownloadBlock, SidNid};
use otagw_codecs::mmc::Direction;
use otagw_codecs::ospp::{Reply, Request, Subscriber};
use otagw_codecs::prl;
use otagw_sim::handset::{run_session, Faults, Handset, HandsetConfig, NetFaults, SessionOutcome};
use otagw_sim::ivr::Ivr;
use otagw_sim::smsc::{Smsc, SmscConfig};
use otagw_sim::ss7::{Network, NetworkConfig};

/// Simulated network elements for otagw.
#[derive(Debug, Parser)]
#[command(name = "otagw-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    element: Element,
}

#[derive(Debug, Subcommand)]
enum Element {
    /// Run one IOTA provisioning session as a CDMA handset.
    ///
    /// The handset GETs the bootstrap URL with its ESN or MEID, answers every IS-683 request
    /// the gateway sends, and stops at the gateway's terminate (or error). Exits 0 only when
    /// the session ended with terminate action="reboot".
    Handset(HandsetArgs),
    /// Run a simulated SS7 network for IS-725-A: an STP (M3UA over TCP) with an MSC and an HLR.
    ///
    /// The gateway's M3UA ASP connects to the STP. The MSC (PC 1-1-2, SSN 8) holds N handsets
    /// in OTASP calls and prints their TRNs; the HLR (PC 1-1-3, SSN 6) knows them as
    /// subscribers. The gateway is expected at PC 1-1-1, SSN 5. Runs until Ctrl-C.
    Ss7(Ss7Args),
    /// Run a simulated SMSC: an SMPP server (3.4 or 5.0) that accepts submit_sm, delivers to
    /// nobody and answers each with a delivery receipt, until Ctrl-C.
    ///
    /// Point otagw's `smpp.smsc` (or any ESME) at it. Every second it prints what it has taken.
    /// The fault options make it misbehave from the start: throttle, answer queue full, refuse,
    /// answer slowly, lose receipts or drop binds.
    Smsc(SmscArgs),
    /// Act as an IVR bound to otagw's OSPP handler: send one request, print every reply.
    ///
    /// Binds as a transceiver with `--system-id` and the password from `OTAGW_SIM_IVR_PASSWORD`
    /// (or `--password`), sends the request, prints the ACCEPTED or REJECTED answer and, for a
    /// started session, waits for its RESULT. Exits 0 when the request succeeded.
    Ivr(IvrArgs),
}

#[derive(Debug, Args)]
struct Ss7Args {
    /// Where the STP listens for M3UA over TCP.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2905")]
    listen: std::net::SocketAddr,
    /// How many handsets to place in OTASP calls.
    #[arg(long, value_name = "N", default_value_t = 1)]
    handsets: u32,
    /// ESN of the first handset (8 hex digits); the others count up from it.
    #[arg(long, value_name = "HEX", default_value = "1A2B0000")]
    esn_base: Esn,
    /// MIN of the first handset (10 digits); the others count up from it.
    #[arg(long, value_name = "DIGITS", default_value = "2125550000")]
    min_base: u64,
    /// SSPR_P_REV of the handsets: 1 takes classic PRLs, 3 extended PRLs.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    sspr_p_rev: u8,
}

#[derive(Debug, Args)]
struct SmscArgs {
    /// Where the SMSC listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2775")]
    listen: std::net::SocketAddr,
    /// The system_id an ESME must bind with (at most 15 characters).
    #[arg(long, value_name = "ID", default_value = "otagw")]
    system_id: String,
    /// Its password (at most 8 characters); read from `OTAGW_SIM_SMSC_PASSWORD` when set.
    #[arg(
        long,
        value_name = "PW",
        env = "OTAGW_SIM_SMSC_PASSWORD",
        default_value = "secret",
        hide_env_values = true
    )]
    password: String,
    /// The SMPP version it speaks: 5.0 or 3.4.
    #[arg(long, value_name = "VERSION", default_value = "5.0", value_parser = ["5.0", "3.4"])]
    smpp_version: String,
    /// Refuse binds that ask for a newer version than `--smpp-version`.
    #[arg(long)]
    refuse_newer_versions: bool,
    /// Milliseconds between a submit_sm and its delivery receipt.
    #[arg(long, value_name = "MS", default_value_t = 50)]
    receipt_delay_ms: u64,
    /// Milliseconds to wait before each submit_sm_resp.
    #[arg(long, value_name = "MS")]
    response_delay_ms: Option<u64>,
    /// Answer the next N submit_sm with ESME_RTHROTTLED.
    #[arg(long, value_name = "N")]
    throttle_next: Option<usize>,
    /// Answer the next N submit_sm with ESME_RMSGQFUL.
    #[arg(long, value_name = "N")]
    queue_full_next: Option<usize>,
    /// Refuse the next N submit_sm with `--reject-status`.
    #[arg(long, value_name = "N")]
    reject_next: Option<usize>,
    /// The command_status for `--reject-next` (hex with 0x, or decimal).
    #[arg(long, value_name = "STATUS", default_value = "0x45", value_parser = parse_status)]
    reject_status: u32,
    /// Send no delivery receipts.
    #[arg(long)]
    lose_receipts: bool,
    /// Drop every bind after it has taken N submit_sm.
    #[arg(long, value_name = "N")]
    drop_binds_after: Option<usize>,
}

fn parse_status(text: &str) -> Result<u32, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("{text:?} is not a command_status (0x45 or 69)"))
}

#[derive(Debug, Args)]
struct IvrArgs {
    /// The OSPP handler.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2776")]
    connect: std::net::SocketAddr,
    /// The account's system_id.
    #[arg(long, value_name = "ID", default_value = "ivr")]
    system_id: String,
    /// The account's password; read from `OTAGW_SIM_IVR_PASSWORD` when set.
    #[arg(
        long,
        value_name = "PW",
        env = "OTAGW_SIM_IVR_PASSWORD",
        hide_env_values = true
    )]
    password: String,
    /// Seconds to wait for the session's RESULT after ACCEPTED.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    wait: u64,
    /// Send the request with this protocol_id instead of its own (0-255; to test refusals).
    #[arg(long, value_name = "PID")]
    protocol_id: Option<u8>,
    #[command(subcommand)]
    request: IvrRequest,
}

#[derive(Debug, Subcommand)]
enum IvrRequest {
    /// IVR-assisted activation of the handset on the call `--trn` (PID 0x7A).
    StarCode {
        /// The TRN of the handset's call.
        #[arg(long)]
        trn: String,
    },
    /// PRL download of library PRL `--prl` to `--mdn` (PID 0x7C).
    PrlPush {
        /// The PRL's library id.
        #[arg(long)]
        prl: u32,
        /// The subscriber's MDN.
        #[arg(long)]
        mdn: String,
    },
    /// How the gateway's session `--reference` is going (PID 0x7D).
    Status {
        /// The gateway's reference from an earlier ACCEPTED.
        #[arg(long)]
        reference: String,
    },
}

/// Which identity the handset presents.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Identity {
    /// ESN: 8 hex digits, sent as X-Device-ESN.
    #[arg(long, value_name = "HEX")]
    esn: Option<Esn>,
    /// MEID: 14 hex digits (or 15 with the check digit), sent as X-Device-MEID.
    #[arg(long, value_name = "HEX")]
    meid: Option<Meid>,
}

#[derive(Debug, Args)]
struct HandsetArgs {
    /// The gateway's bootstrap URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8181/iota/bootstrap"
    )]
    bootstrap: String,
    #[command(flatten)]
    identity: Identity,
    /// SSPR_P_REV: 1 takes classic PRLs, 3 extended PRLs.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    sspr_p_rev: u8,
    /// The service programming code (6 digits).
    #[arg(long, value_name = "DIGITS", default_value = "000000")]
    spc: String,
    /// Engage the service programming lock: the gateway must send the SPC first.
    #[arg(long)]
    locked: bool,
    /// Protect the NAM with this SPASM key (16 hex digits): OTAPA must answer RAND_OTAPA with
    /// AUTH_OTAPA made from the same key (the profile's `spasm_key`).
    #[arg(long, value_name = "HEX16")]
    spasm_key: Option<otagw_codecs::spasm::SpasmKey>,
    /// MOB_FIRM_REV reported in the Protocol Capability Response.
    #[arg(long, value_name = "N", default_value_t = 0x0100)]
    mob_firm_rev: u16,
    /// MOB_MODEL reported in the Protocol Capability Response.
    #[arg(long, value_name = "N", default_value_t = 0x2A)]
    mob_model: u8,
    /// Fault: answer NAM block ID with RESULT_CODE CODE in Download Responses (e.g. 3:4).
    #[arg(long, value_name = "ID:CODE", value_parser = parse_block_fault)]
    reject_nam_block: Option<(u8, u8)>,
    /// Fault: corrupt every received PRL, so its CRC check fails (result 9).
    #[arg(long)]
    corrupt_prl_crc: bool,
    /// Fault: never accept the SPC (result 11); the handset stays locked.
    #[arg(long)]
    stay_locked: bool,
    /// Fault: answer the Commit Request with this RESULT_CODE instead of committing.
    #[arg(long, value_name = "CODE")]
    reject_commit: Option<u8>,
    /// Send the POSTs to this host:port instead of the bootstrap URL's (another gateway
    /// instance behind the same load balancer).
    #[arg(long, value_name = "HOST:PORT")]
    post_to: Option<String>,
    /// The subscriber's MDN, sent as X-MSISDN in the first GET (as an operator's WAP gateway
    /// adds it; for `GET /iota/otapa` without a token).
    #[arg(long, value_name = "MDN")]
    msisdn: Option<String>,
    /// Fault: drop the data call after receiving N documents, without answering the last.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    drop_after: Option<u64>,
    /// Fault: wait this many milliseconds before every HTTP request.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// Fault: send every POST twice; fail unless both answers are identical.
    #[arg(long)]
    retransmit: bool,
    /// Print every IS-683 message exchanged, in hex.
    #[arg(long)]
    trace: bool,
}

fn parse_block_fault(s: &str) -> Result<(u8, u8), String> {
    let (id, code) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not ID:CODE"))?;
    let id = id
        .parse()
        .map_err(|_| format!("block id {id:?} is not 0-255"))?;
    let code = code
        .parse()
        .map_err(|_| format!("result code {code:?} is not 0-255"))?;
    Ok((id, code))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.element {
        Element::Handset(args) => handset(args),
        Element::Ss7(args) => ss7(args),
        Element::Smsc(args) => smsc(args),
        Element::Ivr(args) => ivr(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("otagw-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn smsc(args: SmscArgs) -> anyhow::Result<ExitCode> {
    if args.system_id.len() > 15 {
        bail!("--system-id is at most 15 characters in SMPP");
    }
    if args.password.len() > 8 {
        bail!("--password is at most 8 characters in SMPP");
    }
    let config = SmscConfig {
        system_id: args.system_id.clone(),
        password: args.password.clone(),
        receipt_delay: Duration::from_millis(args.receipt_delay_ms),
        interface_version: if args.smpp_version == "3.4" {
            0x34
        } else {
            0x50
        },
        refuse_newer_versions: args.refuse_newer_versions,
    };
    runtime()?.block_on(async move {
        let smsc = Smsc::start(args.listen, config)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        if let Some(n) = args.throttle_next {
            smsc.throttle_next(n);
        }
        if let Some(n) = args.queue_full_next {
            smsc.queue_full_next(n);
        }
        if let Some(n) = args.reject_next {
            smsc.reject_next(n, args.reject_status);
        }
        if let Some(ms) = args.response_delay_ms {
            smsc.set_response_delay(Duration::from_millis(ms));
        }
        if args.lose_receipts {
            smsc.set_lose_receipts(true);
        }
        if let Some(n) = args.drop_binds_after {
            smsc.drop_binds_after(n);
        }
        println!(
            "SMSC listening on {} (SMPP {}), system_id {}",
            smsc.addr(),
            args.smpp_version,
            args.system_id
        );
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last = (usize::MAX, usize::MAX, usize::MAX);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let now = (smsc.binds_up(), smsc.submits_received(), smsc.receipts_sent());
                    if now != last {
                        println!("binds up {}, submit_sm {}, receipts {}", now.0, now.1, now.2);
                        last = now;
                    }
                }
                signal = tokio::signal::ctrl_c() => {
                    signal.context("cannot wait for Ctrl-C")?;
                    break;
                }
            }
        }
        smsc.stop().await;
        println!(
            "binds accepted {}, submit_sm {}, receipts {}",
            smsc.binds_accepted(),
            smsc.submits_received(),
            smsc.receipts_sent()
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn ivr(args: IvrArgs) -> anyhow::Result<ExitCode> {
    let request = match &args.request {
        IvrRequest::StarCode { trn } => Request::StartActivation {
            tref: String::new(),
            subscriber: Subscriber::Trn(trn.clone()),
        },
        IvrRequest::PrlPush { prl, mdn } => Request::StartPrlDownload {
            tref: String::new(),
            prl: *prl,
            subscriber: Subscriber::Mdn(mdn.parse().context("--mdn is not an MDN")?),
        },
        IvrRequest::Status { reference } => Request::Status {
            tref: String::new(),
            reference: reference.clone(),
        },
    };
    runtime()?.block_on(async move {
        let mut ivr = Ivr::connect(args.connect, &args.system_id, &args.password)
            .await
            .with_context(|| format!("cannot bind to the OSPP handler at {}", args.connect))?;
        let request = with_tref(request, ivr.next_tref());
        let pid = args
            .protocol_id
            .unwrap_or_else(|| request.session_type().protocol_id());
        let ticket = ivr.request_with_pid(pid, request).await?;
        println!(
            "sent {} with PID {:#04x}: message_id {}",
            ticket.tref, ticket.protocol_id, ticket.message_id
        );
        let wait = Duration::from_secs(args.wait);
        let mut success = false;
        while let Some(reply) = ivr.next_reply(wait).await {
            match reply.encode() {
                Ok(text) => println!("{}", String::from_utf8_lossy(&text)),
                Err(_) => println!("{reply:?}"),
            }
            match reply {
                Reply::Accepted { .. } if !matches!(args.request, IvrRequest::Status { .. }) => {
                    continue
                }
                Reply::Accepted { .. } => success = true,
                Reply::Rejected { .. } => {}
                Reply::Result { success: ok, .. } => success = ok,
            }
            break;
        }
        ivr.unbind().await;
        Ok(if success {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

/// `request` with the tool's reference `tref`.
fn with_tref(request: Request, tref: String) -> Request {
    match request {
        Request::StartActivation { subscriber, .. } => {
            Request::StartActivation { tref, subscriber }
        }
        Request::StartPrlDownload {
            prl, subscriber, ..
        } => Request::StartPrlDownload {
            tref,
            prl,
            subscriber,
        },
        Request::Status { reference, .. } => Request::Status { tref, reference },
    }
}

/// A NAM parameter block as its settings read, decoded (MCC 310, not its IS-683 encoding).
fn describe_nam(block: &NamDownloadBlock) -> String {
    let imsi = |p: &ImsiParams| p.digits().unwrap_or_else(|e| format!("undecodable ({e})"));
    let pairs = |list: &[SidNid]| {
        list.iter()
            .map(|p| format!("{}/{}", p.sid, p.nid))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match block {
        NamDownloadBlock::CdmaAnalog(n) => format!(
            "CDMA/analog NAM: IMSI_M {}, HOME_SID {}, FIRSTCHP {}, ACCOLC {}, SID/NID {}",
            imsi(&n.imsi_m),
            n.home_sid,
            n.firstchp,
            n.access.accolc,
            pairs(&n.sid_nid)
        ),
        NamDownloadBlock::Mdn(m) => format!("MDN {}", m.digits),
        NamDownloadBlock::Cdma(n) => format!(
            "CDMA NAM: IMSI_M {}, ACCOLC {}, SID/NID {}",
            imsi(&n.imsi_m),
            n.access.accolc,
            pairs(&n.sid_nid)
        ),
        NamDownloadBlock::ImsiT(p) => format!("IMSI_T {}", imsi(p)),
        NamDownloadBlock::Other(raw) => {
            format!("block {}: {} octets", raw.block_id, raw.data.len())
        }
    }
}

fn ss7(args: Ss7Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = NetworkConfig {
            listen: args.listen,
            ..NetworkConfig::default()
        };
        let network = Network::start(config).await?;
        let (msc, hlr) = (network.msc().config(), network.hlr().config());
        println!("STP listening on {} (M3UA over TCP)", network.stp().addr());
        println!(
            "gateway (OTAF) expected at PC {} SSN {}",
            network.config().gateway_point_code,
            network.config().gateway_ssn
        );
        println!(
            "MSC at PC {} SSN {}, MSCID {}-{}; HLR at PC {} SSN {}",
            msc.point_code,
            msc.ssn,
            msc.mscid.market_id,
            msc.mscid.switch_number,
            hlr.point_code,
            hlr.ssn
        );
        println!("the gateway's configuration for this MSC:");
        println!("  [[ss7.msc]]");
        println!("  name = \"sim-msc\"");
        println!("  point_code = \"{}\"", msc.point_code);
        println!("  ssn = {}", msc.ssn);
        println!("  trn_prefix = \"{}\"", msc.trn_prefix);
        println!("  sms_address = \"{}\"", msc.sms_address.digits);
        println!("TRN\tESN\tMIN");
        for i in 0..args.handsets {
            let esn = Esn::new(args.esn_base.as_u32().wrapping_add(i));
            let min: Min = format!("{:010}", args.min_base + u64::from(i))
                .parse()
                .context("--min-base plus the handset count must stay 10 digits")?;
            let mut cfg = HandsetConfig::new(DeviceId::Esn(esn));
            cfg.sspr_p_rev = args.sspr_p_rev;
            let trn = network.place_otasp_call(Handset::new(cfg)?, min.clone());
            println!("{trn}\t{esn}\t{min}");
        }
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        let c = network.stp().counters();
        println!(
            "associations {}, DATA in {}, DATA out {}, unknown DPC {}; registrations at the HLR {}",
            c.associations_accepted,
            c.data_in,
            c.data_out,
            c.unknown_dpc,
            network.hlr().registrations().len()
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn handset(args: HandsetArgs) -> anyhow::Result<ExitCode> {
    let device = match (args.identity.esn, args.identity.meid) {
        (Some(esn), None) => DeviceId::Esn(esn),
        (None, Some(meid)) => DeviceId::Meid(meid),
        _ => bail!("give exactly one of --esn and --meid"),
    };
    let cfg = HandsetConfig {
        device,
        mob_firm_rev: args.mob_firm_rev,
        mob_model: args.mob_model,
        sspr_p_rev: args.sspr_p_rev,
        spc: args.spc,
        locked: args.locked,
        spasm_key: args.spasm_key,
        faults: Faults {
            reject_nam_block: args.reject_nam_block,
            corrupt_prl_crc: args.corrupt_prl_crc,
            stay_locked: args.stay_locked,
            reject_commit: args.reject_commit,
        },
    };
    let net = NetFaults {
        drop_after_documents: args
            .drop_after
            .map(usize::try_from)
            .transpose()
            .context("--drop-after is too large")?,
        delay_per_request: args.delay_ms.map(Duration::from_millis),
        retransmit_each_post: args.retransmit,
        post_to: args.post_to.clone(),
        msisdn: args.msisdn.clone(),
    };
    let mut handset = Handset::new(cfg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime
        .block_on(run_session(&args.bootstrap, &mut handset, net))
        .context("IOTA session failed")?;

    if args.trace {
        for m in outcome.trace() {
            let arrow = match m.direction {
                Direction::Forward => "<- fwd",
                Direction::Reverse => "-> rev",
            };
            let hex: String = m.octets.iter().map(|b| format!("{b:02x}")).collect();
            println!("{arrow} {hex}");
        }
    }
    match &outcome {
        SessionOutcome::Terminated {
            action, documents, ..
        } => println!(
            "session terminated ({}) after {documents} document(s)",
            action.as_str()
        ),
        SessionOutcome::Refused {
            status,
            code,
            reason,
            documents,
            ..
        } => println!(
            "session refused after {documents} document(s): HTTP {status} {code}: {reason}"
        ),
        SessionOutcome::Dropped { documents, .. } => {
            println!("data call dropped after {documents} document(s), as asked")
        }
    }
    println!(
        "IS-683 messages exchanged: {}; reboots: {}; locked: {}",
        outcome.trace().len(),
        handset.reboots(),
        handset.is_locked()
    );
    for (id, block) in handset.committed_nam() {
        println!("committed NAM block {id}: {}", describe_nam(block));
    }
    match handset.committed_prl() {
        Some(p) => match prl::header_summary(p) {
            Ok(h) => println!(
                "committed PRL: {} octets, PR_LIST_ID {}, PR_LIST_CRC {:#06x}",
                p.len(),
                h.pr_list_id,
                h.stored_crc
            ),
            Err(_) => println!("committed PRL: {} octets", p.len()),
        },
        None => println!("committed PRL: none"),
    }
    Ok(if outcome.is_rebooted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
