//! The docs name only what exists: every metric name, configuration key (with its variable) and
//! `otagw` command-line flag written in README.md, docs/ and grafana/README.md is checked against
//! the code and the binary. A doc that names a metric nobody exports, a key the configuration
//! refuses or a flag the command does not take fails here, with the file and line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use otagw::config::Config;
use otagw::telemetry::names;

/// Every Markdown file of the user-facing docs, with its text.
fn docs() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("grafana/README.md")];
    let mut dir: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    dir.sort();
    files.extend(dir);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(root).unwrap().to_path_buf(), text)
        })
        .collect()
}

/// The text of every inline code span (`like this`) of `line`.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Words that start with `prefix` in `text`, cut at the first character that cannot be part of
/// an identifier (letters, digits, `_`).
fn words_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            out.push(&tail[..end]);
        }
        rest = &tail[end.max(prefix.len())..];
    }
    out
}

#[test]
fn every_metric_named_in_the_docs_is_exported() {
    let exported: BTreeSet<&str> = names::ALL.iter().copied().collect();
    let mut wrong = Vec::new();
    for (file, text) in docs() {
        for (n, line) in text.lines().enumerate() {
            for span in code_spans(line) {
                for word in words_with(span, "otagw_") {
                    // A histogram's series; the crates' own names (otagw_codecs, otagw_sim).
                    let metric = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|s| word.strip_suffix(s))
                        .unwrap_or(word);
                    if matches!(metric, "otagw_" | "otagw_codecs" | "otagw_sim") {
                        continue;
                    }
                    if !exported.contains(metric) {
                        wrong.push(format!("{}:{}: {word}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "metric names in the docs that otagw does not export (telemetry::names::ALL):\n{}",
        wrong.join("\n")
    );
}

/// The `section.key` names the effective configuration has, read from what `otagw config`
/// prints (every key, with its default).
fn config_keys() -> BTreeSet<String> {
    let toml = Config::load(None, std::iter::empty::<(String, String)>())
        .unwrap()
        .to_redacted_toml();
    let mut keys = BTreeSet::new();
    let mut section = String::new();
    for line in toml.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim_matches(['[', ']']).to_string();
        } else if let Some((key, _)) = line.split_once(" = ") {
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

/// The source of the `otagw` command line (src/main.rs and src/cli/), where the variables it
/// reads itself (not configuration keys) are named.
fn cli_source() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut text = std::fs::read_to_string(root.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(root.join("cli")).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

#[test]
fn every_configuration_key_and_variable_in_the_docs_exists() {
    let keys = config_keys();
    let sections: BTreeSet<&str> = keys.iter().filter_map(|k| k.split('.').next()).collect();
    let mut wrong = Vec::new();
    for (file, text) in docs() {
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.display(), n + 1);
            for span in code_spans(line) {
                // `section.key`, alone in its span (a URL or a file name is not a key).
                if let Some((section, key)) = span.split_once('.') {
                    let identifier = |s: &str| {
                        !s.is_empty()
                            && s.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    };
                    if sections.contains(section) && identifier(key) && !keys.contains(span) {
                        wrong.push(format!("{at}: key {span}"));
                    }
                }
                // `OTAGW_SECTION_KEY` must name a key (a trailing `...` abbreviates a row).
                for var in words_with(span, "OTAGW_") {
                    let name = var.trim_start_matches("OTAGW_").to_ascii_lowercase();
                    if var == "OTAGW_" || var.starts_with("OTAGW_SIM_") {
                        continue;
                    }
                    // A key's variable, or one the command line reads itself.
                    let known = keys.iter().any(|k| k.replacen('.', "_", 1) == name)
                        || cli_source().contains(var);
                    if !known {
                        wrong.push(format!("{at}: variable {var}"));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "configuration keys and variables in the docs that the configuration does not have:\n{}",
        wrong.join("\n")
    );
}

/// `otagw <path> --help`, or `None` when that is not a command.
fn help(path: &[&str]) -> Option<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_otagw"))
        .args(path)
        .arg("--help")
        .env_remove("OTAGW_CONFIG")
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Each `otagw ...` command line in the docs: in code blocks and in code spans.
fn command_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let candidates: Vec<&str> = if in_block {
            vec![line]
        } else {
            code_spans(line)
        };
        for c in candidates {
            let c = c.split(" #").next().unwrap_or(c).trim();
            let c = c.strip_prefix("$ ").unwrap_or(c);
            if let Some(rest) = c.strip_prefix("otagw ") {
                out.push((n + 1, rest.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_otagw_flag_in_the_docs_is_taken_by_its_command() {
    let top = help(&[]).expect("otagw --help");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (file, text) in docs() {
        for (line, rest) in command_lines(&text) {
            let words: Vec<&str> = rest.split_whitespace().collect();
            // The subcommand path: leading words that `otagw ... --help` accepts.
            let mut path: Vec<&str> = Vec::new();
            let mut path_help = top.clone();
            for w in &words {
                if w.starts_with('-') || !w.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                    break;
                }
                let mut longer = path.clone();
                longer.push(w);
                match help(&longer) {
                    Some(h) => {
                        path = longer;
                        path_help = h;
                    }
                    None => break,
                }
            }
            for w in &words {
                let Some(flag) = w.strip_prefix("--") else {
                    continue;
                };
                let flag = flag.split('=').next().unwrap_or(flag);
                let flag = flag.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                if flag.is_empty() {
                    continue;
                }
                checked += 1;
                let spelled = format!("--{flag}");
                let taken = |h: &str| {
                    h.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
                        .any(|t| t == spelled || t.starts_with(&format!("{spelled}=")))
                };
                if !taken(&path_help) && !taken(&top) {
                    wrong.push(format!(
                        "{}:{line}: otagw {} does not take {spelled}",
                        file.display(),
                        path.join(" ")
                    ));
                }
            }
        }
    }
    assert!(
        checked > 0,
        "no otagw command line with a flag found in the docs"
    );
    assert!(
        wrong.is_empty(),
        "flags in the docs that the command does not take:\n{}",
        wrong.join("\n")
    );
}
