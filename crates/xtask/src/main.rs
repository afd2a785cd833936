//! `cargo xtask test`: the README's test command. It installs what the test
//! suite needs and a user may install without root (the node packages of the
//! browser and EVM tests), checks what needs root (node, Chromium, openssl,
//! PostgreSQL) and names the command that installs it, then runs
//! `cargo test --workspace --all-features --locked`. The tests themselves fail,
//! naming this command, when a tool they need is missing, so a clone where
//! `cargo test` passes has run every test's real part (PostgreSQL aside: its
//! tests skip on a laptop without it, and must run on CI).

use std::ffi::OsString;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// The node packages' directories, relative to the workspace root.
const NODE_PACKAGES: &[&str] = &["crates/ccgate/tests/browser", "crates/ccgate/tests/evm"];

/// Written into `node_modules` after a successful `npm ci`: the install is
/// current while it is newer than `package-lock.json`.
const STAMP: &str = "node_modules/.ccgate-npm-ci";

/// Where the browser test looks for Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The store suite's and the e2e tests' PostgreSQL.
const POSTGRES: &str = "127.0.0.1:5432";

const USAGE: &str = "usage: cargo xtask test [ARGS...]

  Installs the test suite's node packages when needed (npm ci in
  crates/ccgate/tests/browser and crates/ccgate/tests/evm), checks node, npm,
  openssl, Chromium and PostgreSQL (with psql and pgbench), then runs
  `cargo test --workspace --all-features --locked ARGS...`: ARGS are cargo
  test's own, so `--` starts the test binaries' arguments.
  Example: cargo xtask test --test e2e evm_orders -- --nocapture";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    match args.next().as_ref().and_then(|arg| arg.to_str()) {
        Some("test") => match test(args.collect()) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("xtask: {message}");
                ExitCode::FAILURE
            }
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn test(cargo_args: Vec<OsString>) -> Result<ExitCode, String> {
    let root = workspace_root();
    let on_ci = std::env::var_os("CI").is_some();

    progress("checking node and npm");
    for tool in ["node", "npm"] {
        if !runs(tool, "--version") {
            return Err(format!(
                "`{tool}` is not installed; the browser and EVM tests need it. \
                 Install it: sudo apt-get install nodejs npm"
            ));
        }
    }
    for package in NODE_PACKAGES {
        install_node_packages(&root.join(package))?;
    }

    progress("checking openssl (the https node tests make certificates with it)");
    if !runs("openssl", "version") {
        return Err("`openssl` is not installed. Install it: sudo apt-get install openssl".into());
    }

    progress(&format!("checking Chromium at {CHROMIUM}"));
    if !Path::new(CHROMIUM).exists() {
        return Err(format!(
            "{CHROMIUM} is missing; the hosted checkout is tested in it. \
             Install it: sudo apt-get install chromium"
        ));
    }

    progress(&format!("checking PostgreSQL at {POSTGRES}"));
    if postgres_reachable() {
        progress("PostgreSQL is reachable: its tests run");
        // The tests drop their scratch schemas with psql, and `bench all`
        // measures the ledger against pgbench.
        for tool in ["psql", "pgbench"] {
            if !runs(tool, "--version") {
                return Err(format!(
                    "`{tool}` is not installed; the PostgreSQL tests need it. \
                     Install it: sudo apt-get install postgresql-client postgresql"
                ));
            }
        }
    } else if on_ci {
        return Err(format!(
            "nothing listens on {POSTGRES}, and CI must run the PostgreSQL tests. Start it: \
             pg_ctlcluster --skip-systemctl-redirect \"$(ls /etc/postgresql | head -n 1)\" main start"
        ));
    } else {
        progress(&format!(
            "nothing listens on {POSTGRES}: the PostgreSQL tests will skip \
             (they want user postgres, database test)"
        ));
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["test", "--workspace", "--all-features", "--locked"])
        .args(&cargo_args)
        .current_dir(&root);
    progress(&format!("running {}", describe(&command)));
    let status = command
        .status()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    // A signal has no code; report it as a failure like any other.
    let code = status.code().map_or(1, |code| code.clamp(0, 255));
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Runs `npm ci` in `dir` unless its `node_modules` is already installed from
/// the current `package-lock.json`.
fn install_node_packages(dir: &Path) -> Result<(), String> {
    let lock = dir.join("package-lock.json");
    let stamp = dir.join(STAMP);
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    let lock_time = modified(&lock).ok_or_else(|| format!("{} is missing", lock.display()))?;
    if modified(&stamp).is_some_and(|stamp_time| stamp_time >= lock_time) {
        progress(&format!("{}: node packages up to date", relative(dir)));
        return Ok(());
    }
    let mut command = Command::new("npm");
    command
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir);
    progress(&format!("{}: {}", relative(dir), describe(&command)));
    let status = command
        .status()
        .map_err(|err| format!("cannot run npm: {err}"))?;
    if !status.success() {
        return Err(format!("`npm ci` failed in {} ({status})", dir.display()));
    }
    fs::write(&stamp, "written by cargo xtask test after npm ci\n")
        .map_err(|err| format!("cannot write {}: {err}", stamp.display()))
}

fn postgres_reachable() -> bool {
    POSTGRES
        .parse::<SocketAddr>()
        .is_ok_and(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok())
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|out| out.status.success())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn relative(dir: &Path) -> String {
    let root = workspace_root();
    dir.strip_prefix(&root).unwrap_or(dir).display().to_string()
}

fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    command.get_args().fold(program, |line, arg| {
        format!("{line} {}", arg.to_string_lossy())
    })
}

fn progress(line: &str) {
    println!("xtask: {line}");
}
