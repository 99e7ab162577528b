//! `otagw account ...` and `otagw apikey ...`: accounts and API keys on the server's shell
//! (how the first admin is made). Passwords are never taken from the command line: they come
//! from `OTAGW_ACCOUNT_PASSWORD`, from the first line of standard input (`--password-stdin`),
//! or from a prompt with echo off on a terminal. Every change is written to the operator audit
//! as door `cli`, by the operating-system user.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use chrono::Utc;

use otagw::access::{password, Role};
use otagw::store::accounts;
use otagw::store::operator_audit::{self, Door, NewAction};
use otagw::store::Store;

/// The variable a new account's password may come from.
pub const PASSWORD_VAR: &str = "OTAGW_ACCOUNT_PASSWORD";

/// Where a new account's password comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    /// None: an operator that uses API keys only.
    None,
    /// The first line of standard input.
    Stdin,
    /// `OTAGW_ACCOUNT_PASSWORD`, else a prompt on the terminal.
    EnvOrPrompt,
}

fn who() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".to_string());
    format!("cli:{user}")
}

async fn record(store: &Store, action: &str, target: &str, outcome: &str) {
    let who = who();
    let row = NewAction {
        door: Door::Cli,
        account_id: None,
        account: &who,
        key_prefix: None,
        action,
        target,
        outcome,
    };
    let result = match store.conn().await {
        Ok(mut conn) => operator_audit::record(&mut conn, &row).await,
        Err(e) => Err(e),
    };
    if let Err(err) = result {
        eprintln!("otagw: warning: operator audit not written: {err}");
    }
}

/// Reads a line from the terminal with echo off (`stty -echo`), restoring it afterwards.
fn prompt_hidden(prompt: &str) -> Result<String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
    };
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let hidden = stty("-echo").map(|s| s.success()).unwrap_or(false);
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        let _ = stty("echo");
    }
    eprintln!();
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_password(source: PasswordSource) -> Result<Option<String>> {
    match source {
        PasswordSource::None => Ok(None),
        PasswordSource::Stdin => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
        }
        PasswordSource::EnvOrPrompt => {
            if let Ok(p) = std::env::var(PASSWORD_VAR) {
                return Ok(Some(p));
            }
            if !std::io::stdin().is_terminal() {
                bail!(
                    "no password: set {PASSWORD_VAR}, pass --password-stdin and write it on standard input, \
                     or --no-password for an account that uses API keys only"
                );
            }
            let first = prompt_hidden("password: ")?;
            let again = prompt_hidden("password again: ")?;
            if first != again {
                bail!("the two passwords differ");
            }
            Ok(Some(first))
        }
    }
}

/// `otagw account create NAME --role R...`.
pub async fn create(
    store: &Store,
    name: &str,
    roles: &[String],
    source: PasswordSource,
) -> Result<()> {
    let roles: Vec<Role> = roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<_, _>>()?;
    let smpp = roles.iter().any(|r| r.is_smpp());
    let hash = match read_password(source)? {
        Some(p) => {
            password::check_new(&p, smpp)?;
            Some(password::hash(&p)?)
        }
        None => None,
    };
    let mut conn = store.conn().await?;
    let result = accounts::create(&mut conn, name, &roles, hash.as_deref(), &who()).await;
    drop(conn);
    match result {
        Ok(a) => {
            record(store, "account create", name, "ok").await;
            println!(
                "account {} created with roles {}{}",
                a.name,
                a.roles.join(", "),
                if a.has_password() {
                    ""
                } else {
                    " (no password: API keys only)"
                }
            );
            if !smpp {
                println!(
                    "  make an API key for it with: otagw apikey create {}",
                    a.name
                );
            }
            Ok(())
        }
        Err(e) => {
            use otagw::refusal::Refusal;
            record(store, "account create", name, e.code()).await;
            Err(e.into())
        }
    }
}

/// `otagw account list`.
pub async fn list(store: &Store) -> Result<()> {
    let mut conn = store.conn().await?;
    let list = accounts::list(&mut conn).await?;
    if list.is_empty() {
        println!(
            "no accounts yet: make the first admin with `otagw account create NAME --role admin`"
        );
    }
    for a in list {
        println!(
            "{:<24} {:<32} {:<12} {}",
            a.name,
            a.roles.join(","),
            if a.has_password() {
                "password"
            } else {
                "keys only"
            },
            match a.disabled_at {
                Some(t) => format!("disabled {}", t.to_rfc3339()),
                None => "enabled".to_string(),
            }
        );
    }
    Ok(())
}

/// `otagw account disable NAME`.
pub async fn disable(store: &Store, name: &str) -> Result<()> {
    let mut conn = store.conn().await?;
    let result = accounts::disable(&mut conn, name).await;
    drop(conn);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => otagw::refusal::Refusal::code(e),
    };
    record(store, "account disable", name, outcome).await;
    result?;
    println!("account {name} disabled: its keys and binds are refused from now on");
    Ok(())
}

/// `otagw apikey create ACCOUNT`: prints the key, once.
pub async fn create_key(
    store: &Store,
    account: &str,
    roles: &[String],
    label: &str,
    expires_in_days: Option<u32>,
) -> Result<()> {
    let roles: Vec<Role> = roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<_, _>>()?;
    let expires_at = expires_in_days.map(|d| Utc::now() + chrono::Duration::days(i64::from(d)));
    let mut conn = store.conn().await?;
    let result = accounts::create_key(&mut conn, account, &roles, label, expires_at).await;
    drop(conn);
    match result {
        Ok((key, row)) => {
            record(
                store,
                "apikey create",
                &format!("{account} {}", row.prefix),
                "ok",
            )
            .await;
            println!("{}", key.key);
            eprintln!(
                "API key {} for {account} (roles {}{}): shown this once, keep it now",
                row.prefix,
                row.roles.join(", "),
                row.expires_at
                    .map(|e| format!(", expires {}", e.to_rfc3339()))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Err(e) => {
            record(
                store,
                "apikey create",
                account,
                otagw::refusal::Refusal::code(&e),
            )
            .await;
            Err(e.into())
        }
    }
}

/// `otagw apikey list`.
pub async fn list_keys(store: &Store, account: Option<&str>) -> Result<()> {
    let mut conn = store.conn().await?;
    for (owner, k) in accounts::list_keys(&mut conn, account).await? {
        let state = if k.revoked_at.is_some() {
            "revoked".to_string()
        } else if k.expires_at.is_some_and(|e| e <= Utc::now()) {
            "expired".to_string()
        } else {
            "active".to_string()
        };
        println!(
            "{}  {:<24} {:<32} {:<8} last used {}  {}",
            k.prefix,
            owner,
            k.roles.join(","),
            state,
            k.last_used_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".to_string()),
            k.label
        );
    }
    Ok(())
}

/// `otagw apikey revoke PREFIX`.
pub async fn revoke_key(store: &Store, prefix: &str) -> Result<()> {
    let mut conn = store.conn().await?;
    let result = accounts::revoke_key(&mut conn, prefix).await;
    drop(conn);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => otagw::refusal::Refusal::code(e),
    };
    record(store, "apikey revoke", prefix, outcome).await;
    result?;
    println!("API key {prefix} revoked");
    Ok(())
}
