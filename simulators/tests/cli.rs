//! `otagw-sim smsc` and `otagw-sim ivr` run on their own, as programs: the IVR command binds to
//! the SMSC command over a real SMPP bind on loopback and submits its request, the SMSC counts
//! it; a wrong password is refused with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A running `otagw-sim smsc` and the lines it prints.
struct SmscProgram {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl SmscProgram {
    fn start(extra: &[&str]) -> (Self, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_otagw-sim"))
            .args(["smsc", "--listen", "127.0.0.1:0", "--smpp-version", "3.4"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut program = Self { child, lines };
        let first = program.line_with("SMSC listening on ");
        let addr = first
            .strip_prefix("SMSC listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_string();
        (program, addr)
    }

    /// Waits for a line containing `text`.
    fn line_with(&mut self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => continue,
                Err(e) => panic!("no line with {text:?} from otagw-sim smsc: {e}"),
            }
        }
    }
}

impl Drop for SmscProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ivr(addr: &str, password: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_otagw-sim"))
        .args([
            "ivr",
            "--connect",
            addr,
            "--system-id",
            "ivr",
            "--wait",
            "1",
        ])
        .env("OTAGW_SIM_IVR_PASSWORD", password)
        .args(["star-code", "--trn", "5550001"])
        .output()
        .unwrap()
}

#[test]
fn the_ivr_program_binds_to_the_smsc_program_and_submits() {
    let (mut smsc, addr) = SmscProgram::start(&["--system-id", "ivr", "--password", "pw"]);

    let out = ivr(&addr, "pw");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("with PID 0x7a: message_id"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The SMSC answers with a receipt, not an OSPP RESULT: the IVR waited and says it failed.
    assert_eq!(out.status.code(), Some(1));
    smsc.line_with("submit_sm 1,");

    let refused = ivr(&addr, "wrong");
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot bind to the OSPP handler"),
        "{stderr}"
    );
}

#[test]
fn smpp_limits_are_refused_before_listening() {
    let out = Command::new(env!("CARGO_BIN_EXE_otagw-sim"))
        .args([
            "smsc",
            "--listen",
            "127.0.0.1:0",
            "--password",
            "longer-than-8",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 8 characters"));
}
