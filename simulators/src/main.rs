//! `otagw-sim`: runs simulated network elements against an otagw gateway.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use otagw_codecs::identity::{DeviceId, Esn, Meid, Min};
use otagw_codecs::mmc::Direction;
use otagw_codecs::prl;
use otagw_sim::handset::{run_session, Faults, Handset, HandsetConfig, NetFaults, SessionOutcome};
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
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("otagw-sim: {e:#}");
            ExitCode::from(2)
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
        println!("committed NAM block {id}: {block:?}");
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
