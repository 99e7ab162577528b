//! The embedded default database: a private PostgreSQL cluster run from the locally installed
//! server binaries.
//!
//! With no database URL configured, otagw keeps its own cluster in a data directory, listening
//! only on a Unix socket inside that directory (no TCP port is opened). The cluster is created
//! with `initdb` on first use and started with `pg_ctl` on demand.
//!
//! **Its life follows its users.** Every otagw process using the cluster (a gateway, an import,
//! any command) holds a shared `flock` on `DATA_DIR.users.lock`, beside the data directory, for
//! as long as it uses it; creating and starting the cluster happen one process at a time (an
//! exclusive lock on `DATA_DIR.users.lock.setup`). On
//! exit a process tries for the exclusive lock without waiting: it gets it only when no other
//! process uses the cluster, and then stops the server, whoever started it. So a command that
//! ends never stops the database under a gateway still running, and the last one out stops it.
//! The kernel drops a killed process's lock, so a gateway started after a `kill -9` joins the
//! orphaned server (named by `postmaster.pid`) and stops it when it exits.
//!
//! The data directory's `PG_VERSION` is checked against the server binaries: the binaries of
//! that major version are used when installed (`/usr/lib/postgresql/N/bin`), otherwise start-up
//! stops with [`EmbeddedError::VersionMismatch`], which says to upgrade the cluster with
//! `pg_upgrade` or install that version.
//!
//! `initdb` refuses to run as root, so when otagw runs as root the cluster is owned by and run as
//! the `postgres` system user.
//!
//! Throwaway clusters ([`EmbeddedPostgres::start_throwaway`]) live in a temporary directory and
//! are removed when dropped; a small watchdog process also stops them if this process dies
//! without dropping them (a test binary, for instance, never drops its statics).

use std::ffi::OsString;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::fs::{flock, FlockOperation};
use thiserror::Error;

/// Name of the database otagw uses inside its embedded cluster.
pub const DATABASE_NAME: &str = "otagw";
/// Superuser created by `initdb`.
const SUPERUSER: &str = "postgres";
/// The port only names the socket file; no TCP listener is opened.
const PORT: u16 = 5432;

/// Why the embedded cluster could not be used.
#[derive(Debug, Error)]
pub enum EmbeddedError {
    /// No PostgreSQL server binaries could be found.
    #[error(
        "no database URL is configured and the PostgreSQL server binaries (initdb, pg_ctl) were not found \
         on PATH or under /usr/lib/postgresql/*/bin: install the PostgreSQL server \
         (Debian/Ubuntu: apt-get install postgresql) or set database.url (OTAGW_DATABASE_URL)"
    )]
    BinariesNotFound,
    /// Running as root but there is no `postgres` user to own the cluster.
    #[error(
        "otagw is running as root and initdb refuses root, but there is no 'postgres' system user to run \
         the cluster as: create one (useradd --system postgres), run otagw as another user, or set database.url"
    )]
    NoPostgresUser,
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A PostgreSQL tool exited with an error.
    #[error("{tool} failed ({status}): {output}")]
    Tool {
        /// The tool (initdb, pg_ctl ...).
        tool: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        output: String,
    },
    /// The cluster was created by another major version of PostgreSQL than the server found.
    #[error(
        "the embedded cluster in {data_dir} was created by PostgreSQL {cluster} (its PG_VERSION), \
         but the server binaries found are PostgreSQL {server} ({bin}) and those of {cluster} are not \
         installed: install PostgreSQL {cluster} again (Debian/Ubuntu: apt-get install postgresql-{cluster}; \
         otagw then uses /usr/lib/postgresql/{cluster}/bin, or put its bin directory first on PATH), \
         or upgrade the cluster with pg_upgrade (old binaries -b, new -B {bin}) into a new --data-dir"
    )]
    VersionMismatch {
        /// The data directory.
        data_dir: PathBuf,
        /// The major version in its PG_VERSION.
        cluster: String,
        /// The major version of the binaries found.
        server: String,
        /// Where those binaries are.
        bin: PathBuf,
    },
    /// The data directory holds something that is not a PostgreSQL cluster.
    #[error("data directory {0} is not empty and holds no PostgreSQL cluster (no PG_VERSION): choose another --data-dir")]
    NotACluster(PathBuf),
}

/// Where the PostgreSQL server programs are.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    /// `initdb`.
    pub initdb: PathBuf,
    /// `pg_ctl`.
    pub pg_ctl: PathBuf,
}

impl PgBinaries {
    /// The binaries for the cluster in `data_dir`: those of its `PG_VERSION` when installed
    /// under `/usr/lib/postgresql/N/bin` (unless the ones on PATH are that version), else
    /// [`PgBinaries::locate`]'s, which must then be that version.
    pub fn for_cluster(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let Some(cluster) = cluster_version(data_dir) else {
            return Self::locate();
        };
        let found = Self::locate();
        if let Ok(bin) = &found {
            if bin.major_version().as_deref() == Some(cluster.as_str()) {
                return found;
            }
        }
        let pinned = Path::new("/usr/lib/postgresql").join(&cluster).join("bin");
        if pinned.join("initdb").is_file() && pinned.join("pg_ctl").is_file() {
            return Ok(Self {
                initdb: pinned.join("initdb"),
                pg_ctl: pinned.join("pg_ctl"),
            });
        }
        let bin = found?;
        Err(EmbeddedError::VersionMismatch {
            data_dir: data_dir.to_path_buf(),
            cluster,
            server: bin.major_version().unwrap_or_else(|| "?".to_string()),
            bin: bin
                .pg_ctl
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        })
    }

    /// The major version of these binaries (`pg_ctl --version`: "pg_ctl (PostgreSQL) 16.4").
    pub fn major_version(&self) -> Option<String> {
        let out = Command::new(&self.pg_ctl).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.split_whitespace().last()?;
        let major = version.split(['.', ' ']).next()?;
        major
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| major.to_string())
    }

    /// Finds `initdb` and `pg_ctl` on PATH, else in the newest `/usr/lib/postgresql/N/bin`.
    pub fn locate() -> Result<Self, EmbeddedError> {
        let on_path = |name: &str| -> Option<PathBuf> {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        };
        if let (Some(initdb), Some(pg_ctl)) = (on_path("initdb"), on_path("pg_ctl")) {
            return Ok(Self { initdb, pg_ctl });
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .filter(|(_, bin)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
            .collect();
        versions.sort();
        let (_, bin) = versions.pop().ok_or(EmbeddedError::BinariesNotFound)?;
        Ok(Self {
            initdb: bin.join("initdb"),
            pg_ctl: bin.join("pg_ctl"),
        })
    }
}

/// The major version a data directory's cluster was created by (its `PG_VERSION`).
fn cluster_version(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join("PG_VERSION")).ok()?;
    let v = text.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// The lock file whose shared locks count the processes using the cluster in `data_dir`.
pub fn users_lock_path(data_dir: &Path) -> PathBuf {
    let mut name = data_dir
        .file_name()
        .map(OsString::from)
        .unwrap_or_else(|| OsString::from("pgdata"));
    name.push(".users.lock");
    data_dir.with_file_name(name)
}

/// This process's use of a persistent cluster: a `flock` on its users' lock file.
#[derive(Debug)]
struct Users {
    file: std::fs::File,
    path: PathBuf,
}

impl Users {
    /// Opens the lock file `path` and takes `op` on it.
    fn open(path: PathBuf, op: FlockOperation) -> Result<Self, EmbeddedError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(EmbeddedPostgres::io("creating", parent))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(EmbeddedPostgres::io("opening", &path))?;
        let lock = Self { file, path };
        lock.lock(op)?;
        Ok(lock)
    }

    /// Becomes a user of the cluster in `data_dir`: the shared lock (waiting while its last
    /// user stops it).
    fn join(data_dir: &Path) -> Result<Self, EmbeddedError> {
        Self::open(users_lock_path(data_dir), FlockOperation::LockShared)
    }

    /// The lock that makes creating and starting the cluster one process's at a time (held
    /// until dropped).
    fn setup(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let mut path = users_lock_path(data_dir).into_os_string();
        path.push(".setup");
        Self::open(PathBuf::from(path), FlockOperation::LockExclusive)
    }

    fn lock(&self, op: FlockOperation) -> Result<(), EmbeddedError> {
        loop {
            match flock(&self.file, op) {
                Err(rustix::io::Errno::INTR) => continue,
                other => {
                    return other.map_err(|e| EmbeddedError::Io {
                        action: "locking",
                        path: self.path.clone(),
                        source: e.into(),
                    })
                }
            }
        }
    }

    /// Whether this process is the cluster's last user: the exclusive lock, without waiting.
    /// When it is, it holds that lock until dropped.
    fn last_out(&self) -> bool {
        flock(&self.file, FlockOperation::NonBlockingLockExclusive).is_ok()
    }
}

/// The account the cluster runs as.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Looks up the `postgres` user in `/etc/passwd`.
fn postgres_user() -> Option<RunAs> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != SUPERUSER {
            return None;
        }
        let uid = f.nth(1)?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        Some(RunAs { uid, gid })
    })
}

/// A running PostgreSQL cluster owned (or shared) by this process.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PgBinaries,
    data_dir: PathBuf,
    run_as: Option<RunAs>,
    /// Whether this process started the server (a throwaway cluster is stopped by it).
    started_here: bool,
    /// For a persistent cluster: this process's use of it (see the module documentation).
    users: Option<Users>,
    /// Set for throwaway clusters: the directory removed on drop.
    throwaway: Option<tempfile::TempDir>,
    stopped: bool,
}

impl EmbeddedPostgres {
    /// Starts (creating if needed) the persistent cluster in `data_dir`.
    /// Joins it when it is running (another process uses it, or an earlier one was killed and
    /// left it running); stops it on [`EmbeddedPostgres::stop`] only as its last user.
    pub fn start(data_dir: &Path) -> Result<Self, EmbeddedError> {
        // Using the cluster under the shared lock; creating and starting it one at a time.
        let users = Users::join(data_dir)?;
        let setup = Users::setup(data_dir)?;
        let bin = PgBinaries::for_cluster(data_dir)?;
        let run_as = Self::run_as()?;
        let mut pg = Self {
            bin,
            data_dir: data_dir.to_path_buf(),
            run_as,
            started_here: false,
            users: None,
            throwaway: None,
            stopped: false,
        };
        pg.prepare_dir(data_dir)?;
        pg.init_if_needed(false)?;
        pg.users = Some(users);
        pg.start_server(false)?;
        drop(setup);
        Ok(pg)
    }

    /// Starts a fresh cluster in a temporary directory, tuned for speed over durability
    /// (fsync off). It is stopped and removed when dropped, or by a watchdog when this process
    /// exits without dropping it.
    pub fn start_throwaway() -> Result<Self, EmbeddedError> {
        let bin = PgBinaries::locate()?;
        let run_as = Self::run_as()?;
        let dir = tempfile::Builder::new()
            .prefix("otagw-pg-")
            .tempdir()
            .map_err(|source| EmbeddedError::Io {
                action: "creating a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        let data_dir = dir.path().join("data");
        let mut pg = Self {
            bin,
            data_dir: data_dir.clone(),
            run_as,
            started_here: false,
            users: None,
            throwaway: None,
            stopped: false,
        };
        pg.prepare_dir(dir.path())?;
        pg.prepare_dir(&data_dir)?;
        pg.init_if_needed(true)?;
        pg.start_server(true)?;
        pg.spawn_watchdog(dir.path())?;
        pg.throwaway = Some(dir);
        Ok(pg)
    }

    fn run_as() -> Result<Option<RunAs>, EmbeddedError> {
        if running_as_root() {
            postgres_user()
                .map(Some)
                .ok_or(EmbeddedError::NoPostgresUser)
        } else {
            Ok(None)
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A libpq-style connection string for `database` over the cluster's Unix socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "host={} port={PORT} user={SUPERUSER} dbname={database}",
            self.data_dir.display()
        )
    }

    fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError {
        let path = path.to_path_buf();
        move |source| EmbeddedError::Io {
            action,
            path,
            source,
        }
    }

    /// Creates `dir` (mode 0700) and hands it to the account that runs the cluster.
    fn prepare_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        std::fs::create_dir_all(dir).map_err(Self::io("creating", dir))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(Self::io("setting permissions on", dir))?;
        if let Some(user) = self.run_as {
            chown(dir, Some(user.uid), Some(user.gid))
                .map_err(Self::io("changing owner of", dir))?;
        }
        Ok(())
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        if let Some(user) = self.run_as {
            cmd.uid(user.uid).gid(user.gid);
            // The tools must not inherit a HOME they cannot read.
            cmd.env("HOME", &self.data_dir);
        }
        cmd.env_remove("PGDATA")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, tool: &str, mut cmd: Command) -> Result<(), EmbeddedError> {
        let out = cmd.output().map_err(|source| EmbeddedError::Io {
            action: "running",
            path: PathBuf::from(tool),
            source,
        })?;
        if out.status.success() {
            return Ok(());
        }
        let mut output = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if output.is_empty() {
            output = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        Err(EmbeddedError::Tool {
            tool: tool.to_string(),
            status: out.status.to_string(),
            output,
        })
    }

    fn init_if_needed(&self, fast: bool) -> Result<(), EmbeddedError> {
        if self.data_dir.join("PG_VERSION").is_file() {
            return Ok(());
        }
        let non_empty = std::fs::read_dir(&self.data_dir)
            .map_err(Self::io("reading", &self.data_dir))?
            .next()
            .is_some();
        if non_empty {
            return Err(EmbeddedError::NotACluster(self.data_dir.clone()));
        }
        tracing::info!(data_dir = %self.data_dir.display(), "creating the embedded PostgreSQL cluster");
        let mut cmd = self.command(&self.bin.initdb);
        cmd.arg("-D").arg(&self.data_dir).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if fast {
            cmd.arg("--no-sync");
        }
        self.run("initdb", cmd)
    }

    /// The postmaster's pid, if a server is running on the data directory.
    fn running_pid(&self) -> Option<u32> {
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        // A stale file may name a pid now used by another program: only a postgres counts.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.starts_with("postgres") || comm.starts_with("postmaster")).then_some(pid)
    }

    fn start_server(&mut self, fast: bool) -> Result<(), EmbeddedError> {
        if let Some(pid) = self.running_pid() {
            tracing::info!(data_dir = %self.data_dir.display(), pid, "embedded PostgreSQL already running; joining it");
            return Ok(());
        }
        let mut options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -p {PORT}",
            self.data_dir.display()
        );
        if fast {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.data_dir.join("server.log");
        let mut cmd = self.command(&self.bin.pg_ctl);
        cmd.arg("start")
            .arg("-w")
            .args(["-t", "60"])
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(options)
            // pg_ctl -w waits for the server but leaves it running: its output goes nowhere.
            .stdout(Stdio::null());
        if let Err(err) = self.run("pg_ctl start", cmd) {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(match err {
                EmbeddedError::Tool {
                    tool,
                    status,
                    output,
                } => EmbeddedError::Tool {
                    tool,
                    status,
                    output: format!("{output}\nserver log: {}", tail.join("\n")),
                },
                other => other,
            });
        }
        self.started_here = true;
        tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL started");
        Ok(())
    }

    /// Starts `sh` as a watchdog: when this process is gone it stops the server and removes
    /// `dir`. Runs as the current user so it can remove what the cluster's owner created.
    fn spawn_watchdog(&self, dir: &Path) -> Result<(), EmbeddedError> {
        let script = r#"
            parent=$1; dir=$2; pidfile=$3
            while kill -0 "$parent" 2>/dev/null; do sleep 1; done
            if [ -f "$pidfile" ]; then kill -QUIT "$(head -n 1 "$pidfile")" 2>/dev/null; sleep 1; fi
            rm -rf "$dir"
        "#;
        let mut args: Vec<OsString> = vec!["-c".into(), script.into(), "otagw-pg-watchdog".into()];
        args.push(std::process::id().to_string().into());
        args.push(dir.into());
        args.push(self.data_dir.join("postmaster.pid").into());
        Command::new("sh")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|source| EmbeddedError::Io {
                action: "starting the watchdog for",
                path: dir.to_path_buf(),
                source,
            })
    }

    /// Leaves the cluster: a throwaway cluster is stopped; a persistent one is stopped when this
    /// process is its last user (whoever started it), else left running for the others.
    /// Idempotent.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        if let Some(users) = &self.users {
            if !users.last_out() {
                tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL left running: another otagw process uses it");
                return Ok(());
            }
            if self.running_pid().is_none() {
                return Ok(());
            }
        } else if !self.started_here {
            return Ok(());
        }
        let mut cmd = self.command(&self.bin.pg_ctl);
        cmd.arg("stop")
            .arg("-w")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast"]);
        let result = self.run("pg_ctl stop", cmd);
        if result.is_ok() {
            tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL stopped");
        }
        result
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!(%err, "stopping the embedded PostgreSQL");
        }
    }
}

/// The default data directory: `/var/lib/otagw/pgdata` for root (the `postgres` user must be
/// able to reach it), else `$XDG_DATA_HOME/otagw/pgdata` or `~/.local/share/otagw/pgdata`.
pub fn default_data_dir() -> PathBuf {
    if running_as_root() {
        return PathBuf::from("/var/lib/otagw/pgdata");
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("otagw").join("pgdata")
}
