//! `otagw`: the gateway's command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod cli;

use otagw::config::{Config, LogFormat};
use otagw::database::Database;
use otagw::import;
use otagw::store::campaigns::CampaignAction;
use otagw::store::profiles::{self, Lookup};

/// Over-the-air provisioning gateway: IS-683 OTASP/OTAPA over IOTA and SS7, with a Postgres
/// customer-profile store.
///
/// With no command, `otagw` serves: it opens the store (its own private PostgreSQL cluster
/// unless database.url is set), applies migrations, and runs the gateway (IOTA, the admin server
/// with /healthz, /metrics and the REST API /api/v1, and SS7, SMPP and the OSPP handler when
/// configured)
/// until stopped with Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "otagw", version, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). Every setting can also be set with OTAGW_<SECTION>_<KEY>.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the embedded PostgreSQL cluster (overrides database.data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log as JSON lines instead of text (overrides log.format).
    #[arg(long, global = true)]
    log_json: bool,
    /// Write every M3UA and IOTA IS-683 message to this pcap file (overrides trace.file).
    #[arg(long, global = true, value_name = "FILE.pcap")]
    trace: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the gateway and serve until stopped (the default).
    Serve,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Customer profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// The PRL (SSPR) library.
    #[command(subcommand)]
    Prl(PrlCommand),
    /// Accounts of operators (API) and SMPP tools (OSPP handler), with their roles.
    #[command(subcommand)]
    Account(AccountCommand),
    /// API keys (`Authorization: Bearer` on /api/v1).
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Run the gateway with simulated handsets end to end and print a summary. Uses a throwaway
    /// database unless database.url is set, or --data-dir (database.data_dir) names the
    /// embedded cluster to use and keep.
    Demo(DemoArgs),
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// The flow to run.
    #[arg(long, value_enum, default_value = "one-button")]
    scenario: cli::demo::Scenario,
    /// Number of simulated handsets.
    #[arg(long, default_value_t = 50)]
    handsets: usize,
    /// Handsets in flight at once.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Keep the gateway (and /metrics) up after the run until Ctrl-C or SIGTERM.
    #[arg(long)]
    serve: bool,
    /// Show the gateway's log while the demo runs (-v: info, -vv: debug); without it, only
    /// warnings and errors are logged, so the progress bar and the summary stay readable.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account. Its password is never read from the command line: it comes from
    /// OTAGW_ACCOUNT_PASSWORD, from standard input (--password-stdin), or from a prompt.
    Create {
        /// Login name (for ivr and otap-tool accounts: the SMPP system_id).
        name: String,
        /// A role: admin, otap-admin, customer-care, noc, partner, corporate, ivr, otap-tool
        /// (repeat for more).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// No password: an operator that uses API keys only.
        #[arg(long)]
        no_password: bool,
    },
    /// List the accounts.
    List,
    /// Disable an account: its keys and binds are refused from now on.
    Disable {
        /// The account.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Make an API key for an account and print it (shown this once; only its digest is kept).
    Create {
        /// The account it acts for.
        account: String,
        /// The roles it carries (some of the account's; all of them when not given).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A note kept with it.
        #[arg(long, default_value = "")]
        label: String,
        /// It stops working after this many days.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// List API keys (prefix, account, roles, state, last use; never the key).
    List {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
    },
    /// Revoke an API key at once.
    Revoke {
        /// Its prefix (as `apikey list` shows it).
        prefix: String,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply pending migrations (start-up does this too).
    Migrate,
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Import legacy profiles from CSV: every row is validated first, then all are written or
    /// none. Columns: see docs/profiles.md.
    Import {
        /// The CSV file (with a header line).
        file: PathBuf,
    },
    /// Show one profile, by ESN (8 hex digits), MEID (14 hex digits) or MDN.
    Show {
        /// ESN, MEID or MDN.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PrlCommand {
    /// Push a PRL of the library to many subscribers (a PRL campaign): a CSV with an mdn, esn
    /// or meid column, or every activated profile of a make/model. The campaign and its targets
    /// are written, then the pushes are queued in the outbox (up to prl_campaign.max_queued
    /// waiting rows; a running gateway queues the rest); a running gateway with SMPP enabled
    /// sends them and serves the call-backs.
    Campaign {
        /// Library id of the PRL to push.
        #[arg(long)]
        prl: i32,
        /// CSV of subscribers (header line; the first mdn, esn or meid column is used).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["make", "model"])]
        csv: Option<PathBuf>,
        /// Every activated profile of this make (with --model).
        #[arg(long, requires = "model")]
        make: Option<String>,
        /// ... and this model.
        #[arg(long, requires = "make")]
        model: Option<String>,
    },
    /// Pause a PRL campaign: no more pushes are created for its pending targets until it is
    /// resumed (pushes already in the outbox still go out). A running gateway sees it at once.
    CampaignPause {
        /// The campaign id (as `prl campaign` printed it).
        id: i64,
    },
    /// Resume a paused PRL campaign: a running gateway creates its pushes again.
    CampaignResume {
        /// The campaign id.
        id: i64,
    },
    /// Cancel a PRL campaign: its pending targets are skipped, its pushes no sender has taken
    /// are dropped, and its sessions whose handset has not called back end, all with cause
    /// `cancelled`. Sessions already under way run to their end.
    CampaignCancel {
        /// The campaign id.
        id: i64,
    },
    /// Import a binary PRL: its size field, CRC and records are checked; a bad file is refused
    /// and nothing is written.
    Import {
        /// The PRL file.
        file: PathBuf,
        /// Library id profiles and campaigns will refer to.
        #[arg(long)]
        id: i64,
        /// Description kept with it.
        #[arg(long, default_value = "")]
        description: String,
        /// Decode as this SSPR_P_REV (1 classic, 3 extended) instead of detecting it.
        #[arg(long, value_name = "N")]
        sspr_p_rev: Option<u8>,
        /// Overwrite an existing PRL with the same id.
        #[arg(long)]
        replace: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("otagw: {}", report(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, outermost first. A cause whose text its parent
/// already ends with (an error that shows its source in its own message) is said once.
fn report(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn run(cli: Cli) -> Result<()> {
    // The new account's password is the CLI's, not a setting.
    let env = std::env::vars().filter(|(k, _)| k != cli::accounts::PASSWORD_VAR);
    let mut config = Config::load(cli.config.as_deref(), env)?;
    if let Some(dir) = &cli.data_dir {
        config.database.data_dir = dir.display().to_string();
    }
    if cli.log_json {
        config.log.format = LogFormat::Json;
    }
    if let Some(trace) = &cli.trace {
        config.trace.file = trace.display().to_string();
    }
    if let Some(Command::Config) = cli.command {
        print!("{}", config.to_redacted_toml());
        return Ok(());
    }
    if let Some(Command::Demo(args)) = &cli.command {
        // The demo's own output is its progress and summary; the gateway's log is there on
        // request (RUST_LOG still wins).
        config.log.level = match args.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
        .to_string();
    }
    otagw::telemetry::init_logging(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        if let Some(Command::Demo(args)) = &cli.command {
            return demo(&config, args).await;
        }
        let db = Database::open(&config.database, &config.data_dir()).await?;
        let result = dispatch(cli.command.unwrap_or(Command::Serve), &config, &db).await;
        db.shutdown().await?;
        result
    })
}

async fn dispatch(command: Command, config: &Config, db: &Database) -> Result<()> {
    match command {
        Command::Serve => serve(config, db).await,
        Command::Config | Command::Demo(_) => Ok(()),
        Command::Account(AccountCommand::Create {
            name,
            roles,
            password_stdin,
            no_password,
        }) => {
            use cli::accounts::PasswordSource;
            let source = if no_password {
                PasswordSource::None
            } else if password_stdin {
                PasswordSource::Stdin
            } else {
                PasswordSource::EnvOrPrompt
            };
            cli::accounts::create(&db.store, &name, &roles, source).await
        }
        Command::Account(AccountCommand::List) => cli::accounts::list(&db.store).await,
        Command::Account(AccountCommand::Disable { name }) => {
            cli::accounts::disable(&db.store, &name).await
        }
        Command::Apikey(ApikeyCommand::Create {
            account,
            roles,
            label,
            expires_in_days,
        }) => cli::accounts::create_key(&db.store, &account, &roles, &label, expires_in_days).await,
        Command::Apikey(ApikeyCommand::List { account }) => {
            cli::accounts::list_keys(&db.store, account.as_deref()).await
        }
        Command::Apikey(ApikeyCommand::Revoke { prefix }) => {
            cli::accounts::revoke_key(&db.store, &prefix).await
        }
        Command::Db(DbCommand::Migrate) => {
            // Database::open has applied them; say where things stand.
            println!(
                "database is migrated ({})",
                otagw::config::redact_url(&db.url)
            );
            Ok(())
        }
        Command::Profile(ProfileCommand::Import { file }) => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let show = std::io::stderr().is_terminal();
            let progress = move |done: usize, total: usize| {
                if show || done == total {
                    eprint!(
                        "\rwritten {done}/{total} profiles ({}%)",
                        (done * 100).checked_div(total).unwrap_or(100)
                    );
                    if done == total {
                        eprintln!();
                    }
                }
            };
            let mut conn = db.store.conn().await?;
            let written = import::profiles::import(&mut conn, input, &progress)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!("imported {written} profiles from {}", file.display());
            Ok(())
        }
        Command::Profile(ProfileCommand::Show { id, json }) => {
            let lookup = Lookup::parse(&id).map_err(anyhow::Error::msg)?;
            let mut conn = db.store.conn().await?;
            let profile = profiles::find(&mut conn, &lookup).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&profile)?);
            } else {
                print!("{}", otagw::store::models::render_profile(&profile));
            }
            Ok(())
        }
        Command::Prl(PrlCommand::Campaign {
            prl,
            csv,
            make,
            model,
        }) => {
            use otagw::flows::prl_campaign::{self, Target};
            let target = match (csv, make, model) {
                (Some(file), _, _) => Target::Subscribers(read_subscribers(&file)?),
                (None, Some(make), Some(model)) => Target::MakeModel { make, model },
                _ => anyhow::bail!("give --csv FILE, or --make and --model"),
            };
            let settings = config.prl_push_settings(config.iota.listen);
            let mut conn = db.store.conn().await?;
            let started = prl_campaign::create(&mut conn, prl, &target).await?;
            let max_queued = config.prl_campaign.max_queued;
            let worked = prl_campaign::work_campaign(
                &mut conn,
                &settings,
                started.campaign_id,
                prl,
                max_queued,
            )
            .await?;
            let progress = prl_campaign::progress(&mut conn, started.campaign_id).await?;
            println!(
                "PRL campaign {}: {} targets, {} pushes queued, {} skipped, {} pending",
                started.campaign_id,
                started.total,
                progress.targets.queued,
                progress.targets.skipped,
                progress.targets.pending,
            );
            for s in &progress.skipped {
                println!("  skipped {}: {}", s.subscriber, s.cause);
            }
            if progress.targets.skipped > i64::try_from(progress.skipped.len()).unwrap_or(0) {
                println!(
                    "  ... {} skipped in all; GET /api/v1/campaigns/{} has them by cause",
                    progress.targets.skipped, started.campaign_id
                );
            }
            if !worked.ran_out {
                println!(
                    "  {} targets wait for the outbox to drain (prl_campaign.max_queued {}): a running gateway pushes them",
                    progress.targets.pending, max_queued
                );
            }
            Ok(())
        }
        Command::Prl(PrlCommand::CampaignPause { id }) => {
            campaign_control(db, id, CampaignAction::Pause).await
        }
        Command::Prl(PrlCommand::CampaignResume { id }) => {
            campaign_control(db, id, CampaignAction::Resume).await
        }
        Command::Prl(PrlCommand::CampaignCancel { id }) => {
            campaign_control(db, id, CampaignAction::Cancel).await
        }
        Command::Prl(PrlCommand::Import {
            file,
            id,
            description,
            sspr_p_rev,
            replace,
        }) => {
            let data = import::prl::read_file(&file)?;
            let mut conn = db.store.conn().await?;
            let summary =
                import::prl::import(&mut conn, id, &data, sspr_p_rev, &description, replace)
                    .await
                    .with_context(|| format!("importing {}", file.display()))?;
            println!(
                "imported PRL {id}: {}, PR_LIST_ID {}, {} octets, CRC {:04X}, {} acquisition and {} system records",
                summary.format,
                summary.pr_list_id,
                summary.pr_list_size,
                summary.pr_list_crc,
                summary.num_acq_recs,
                summary.num_sys_recs
            );
            Ok(())
        }
    }
}

/// The subscribers of a campaign CSV: the first `mdn`, `esn` or `meid` column.
/// Pauses, resumes or cancels PRL campaign `id` and says what changed.
async fn campaign_control(db: &Database, id: i64, action: CampaignAction) -> Result<()> {
    let mut conn = db.store.conn().await?;
    let done = otagw::flows::prl_campaign::control(&mut conn, id, action).await?;
    if done.was == done.state {
        println!("PRL campaign {id} is already {}", done.state.as_str());
        return Ok(());
    }
    println!(
        "PRL campaign {id}: {} -> {}",
        done.was.as_str(),
        done.state.as_str()
    );
    if action == CampaignAction::Cancel {
        println!(
            "  {} pending targets skipped, {} pushes dropped before sending, {} sessions ended before the handset called back",
            done.targets_skipped, done.pushes_dropped, done.sessions_ended
        );
    }
    Ok(())
}

fn read_subscribers(file: &std::path::Path) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("reading {}", file.display()))?;
    let header = reader.headers()?.clone();
    let column = header
        .iter()
        .position(|h| matches!(h.to_ascii_lowercase().as_str(), "mdn" | "esn" | "meid"))
        .with_context(|| format!("{} has no mdn, esn or meid column", file.display()))?;
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} line {}", file.display(), i + 2))?;
        if let Some(v) = record.get(column).filter(|v| !v.is_empty()) {
            out.push(v.to_string());
        }
    }
    Ok(out)
}

async fn demo(config: &Config, args: &DemoArgs) -> Result<()> {
    // The configured database; else the embedded cluster in --data-dir (database.data_dir),
    // kept; else a throwaway cluster.
    let (db, which) = if !config.database.url.is_empty() {
        (
            Database::open(&config.database, &config.data_dir()).await?,
            "configured".to_string(),
        )
    } else if !config.database.data_dir.is_empty() {
        (
            Database::open(&config.database, &config.data_dir()).await?,
            format!("kept ({})", config.data_dir().display()),
        )
    } else {
        (
            Database::open_throwaway(config.database.pool_size).await?,
            "throwaway".to_string(),
        )
    };
    let options = cli::demo::DemoOptions {
        scenario: args.scenario,
        handsets: args.handsets,
        concurrency: args.concurrency,
    };
    eprintln!(
        "otagw demo: {} handsets, scenario {}, {} database{}",
        args.handsets,
        args.scenario.name(),
        which,
        if args.verbose == 0 {
            " (the gateway logs warnings only; -v shows its log)"
        } else {
            ""
        }
    );
    let on_terminal = std::io::stderr().is_terminal();
    let progress = move |done: usize, total: usize| {
        if !on_terminal && done != total {
            return;
        }
        let width = 40;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        eprint!(
            "\r[{}{}] {done}/{total}",
            "#".repeat(filled),
            "-".repeat(width - filled)
        );
        if done == total {
            eprintln!();
        }
    };
    let run = cli::demo::run(config, db.store.clone(), &options, &progress).await?;
    let (gateway, report) = (run.gateway, run.report);
    print!("{}", report.summary());
    if args.serve {
        eprintln!(
            "serving: bootstrap {}  metrics http://{}/metrics  (Ctrl-C stops)",
            gateway.bootstrap_url(),
            gateway.admin_addr
        );
        shutdown_signal().await;
    }
    gateway.stop().await;
    drop(run.network);
    drop(run.smsc);
    db.shutdown().await?;
    Ok(())
}

async fn serve(config: &Config, db: &Database) -> Result<()> {
    let gateway = otagw::gateway::Gateway::start(config, db.store.clone()).await?;
    tracing::info!(
        iota = %gateway.iota_addr,
        admin = %gateway.admin_addr,
        bootstrap_url = %gateway.bootstrap_url(),
        embedded_database = db.is_embedded(),
        "otagw serving; Ctrl-C or SIGTERM stops it"
    );
    shutdown_signal().await;
    tracing::info!("otagw stopping");
    gateway.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::report;

    #[derive(Debug, thiserror::Error)]
    #[error("not a valid PRL: {0}")]
    struct Shows(#[from] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot import")]
    struct Hides(#[source] std::io::Error);

    fn io() -> std::io::Error {
        std::io::Error::other("bad CRC")
    }

    #[test]
    fn a_cause_its_parent_already_shows_is_said_once() {
        let err = anyhow::Error::from(Shows(io())).context("prl import lab.prl");
        assert_eq!(report(&err), "prl import lab.prl: not a valid PRL: bad CRC");
    }

    #[test]
    fn a_cause_its_parent_does_not_show_is_said() {
        let err = anyhow::Error::from(Hides(io()));
        assert_eq!(report(&err), "cannot import: bad CRC");
    }
}
