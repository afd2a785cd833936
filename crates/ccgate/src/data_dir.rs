//! The data directory: `ccgate.db` and, unless `CCGATE_MASTER_KEY` is set,
//! `master.key`; unless `CCGATE_ADMIN_TOKEN` is set, `admin.token`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ccgate_store::{MasterKey, SqliteStore};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

const DATABASE_FILE: &str = "ccgate.db";
const MASTER_KEY_FILE: &str = "master.key";
const ADMIN_TOKEN_FILE: &str = "admin.token";
/// In the data directory while `serve` runs: its admin API's base URL.
pub const ADMIN_URL_FILE: &str = "admin.url";
/// Overrides the token file, for the server and the CLI alike.
pub const ADMIN_TOKEN_ENV: &str = "CCGATE_ADMIN_TOKEN";
/// 128 bits as hex: a shorter token could be guessed.
const ADMIN_TOKEN_MIN_CHARS: usize = 32;

#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    pub fn resolve(explicit: Option<PathBuf>) -> anyhow::Result<DataDir> {
        let path = match explicit {
            Some(path) => path,
            None => dirs::data_local_dir()
                .context("find a per-user data directory; pass --data-dir")?
                .join("ccgate"),
        };
        create_private_dir(&path)
            .with_context(|| format!("create the data directory {}", path.display()))?;
        Ok(DataDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn open_store(&self) -> anyhow::Result<SqliteStore> {
        let key = self.master_key()?;
        let db = self.path.join(DATABASE_FILE);
        // Owner-only from the first byte; SQLite gives its -wal and -shm
        // files the database file's permissions.
        match create_private_empty(&db) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(err).with_context(|| format!("create the database {}", db.display()));
            }
        }
        SqliteStore::open(&db, key)
            .await
            .with_context(|| format!("open the database {}", db.display()))
    }

    /// `CCGATE_MASTER_KEY` (64 hex characters) wins; otherwise the key file,
    /// created with mode 0600 on first use.
    pub fn master_key(&self) -> anyhow::Result<MasterKey> {
        if let Ok(hex) = std::env::var("CCGATE_MASTER_KEY") {
            return MasterKey::from_hex(&hex).context("read CCGATE_MASTER_KEY");
        }
        let file = self.path.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&file) {
            Ok(text) => MasterKey::from_hex(&text)
                .with_context(|| format!("read the master key {}", file.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                match write_private_new(&file, key.to_hex().expose_secret().as_bytes()) {
                    Ok(()) => Ok(key),
                    // Another process (serve beside a CLI command) created it first.
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(&file)?;
                        MasterKey::from_hex(&text)
                            .with_context(|| format!("read the master key {}", file.display()))
                    }
                    Err(err) => Err(err)
                        .with_context(|| format!("create the master key {}", file.display())),
                }
            }
            Err(err) => Err(err).with_context(|| format!("read the master key {}", file.display())),
        }
    }

    /// What in the data directory others than its owner may read or write
    /// (an existing directory made with a looser umask): `serve` warns about
    /// each, `doctor` reports them as a problem. Empty off Unix.
    pub fn loose_permissions(&self) -> Vec<String> {
        let mut paths = vec![self.path.clone()];
        paths.extend(
            PRIVATE_FILES
                .iter()
                .map(|name| self.path.join(name))
                .filter(|path| path.exists()),
        );
        paths
            .into_iter()
            .filter_map(|path| {
                let mode = permission_bits(&path)?;
                (mode & 0o077 != 0).then(|| {
                    format!(
                        "{} is mode {mode:o}, readable or writable by others (chmod {} it)",
                        path.display(),
                        if path.is_dir() { "700" } else { "600" }
                    )
                })
            })
            .collect()
    }

    pub fn admin_token_file(&self) -> PathBuf {
        self.path.join(ADMIN_TOKEN_FILE)
    }

    /// The admin API's token, for the CLI: `CCGATE_ADMIN_TOKEN`, else the
    /// token file `serve` created.
    pub fn admin_token(&self) -> anyhow::Result<SecretString> {
        if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
            return parse_admin_token(&token, ADMIN_TOKEN_ENV);
        }
        let file = self.admin_token_file();
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "read the admin token {} (`ccgate serve` creates it at its first start; or set \
                 {ADMIN_TOKEN_ENV} to the token the server was started with)",
                file.display()
            )
        })?;
        parse_admin_token(&text, &file.display().to_string())
    }

    /// The admin API's token, for `serve`: as [`DataDir::admin_token`], the
    /// token file created (mode 0600, 256 random bits as hex) at first start.
    pub fn admin_token_or_create(&self) -> anyhow::Result<SecretString> {
        if std::env::var_os(ADMIN_TOKEN_ENV).is_some() {
            return self.admin_token();
        }
        let file = self.admin_token_file();
        if file.exists() {
            return self.admin_token();
        }
        let bytes: [u8; 32] = rand::rng().random();
        match write_private_new(&file, hex::encode(bytes).as_bytes()) {
            // Another server on this directory may have won the race: either way, read it.
            Ok(()) => self.admin_token(),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => self.admin_token(),
            Err(err) => {
                Err(err).with_context(|| format!("create the admin token {}", file.display()))
            }
        }
    }
}

/// `source` names where the text came from, for the error.
fn parse_admin_token(text: &str, source: &str) -> anyhow::Result<SecretString> {
    let token = text.trim();
    if token.len() < ADMIN_TOKEN_MIN_CHARS || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        anyhow::bail!(
            "{source} is not a usable admin token: it needs at least {ADMIN_TOKEN_MIN_CHARS} \
             characters, printable ASCII without spaces (e.g. 64 hex characters)"
        );
    }
    Ok(SecretString::from(token.to_owned()))
}

/// The data directory's files that only its owner may read.
const PRIVATE_FILES: [&str; 6] = [
    DATABASE_FILE,
    "ccgate.db-wal",
    "ccgate.db-shm",
    MASTER_KEY_FILE,
    ADMIN_URL_FILE,
    ADMIN_TOKEN_FILE,
];

#[cfg(unix)]
fn permission_bits(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|meta| meta.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn permission_bits(_path: &Path) -> Option<u32> {
    None
}

/// Creates an empty file readable by the owner only; `AlreadyExists` if
/// there is one.
fn create_private_empty(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// Writes `path` readable by the owner only, replacing it if it exists: the
/// contents go to a private temporary file first, renamed into place, so the
/// file is never readable by others, not even for a moment.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temporary = temporary_beside(path);
    let renamed =
        write_private_file(&temporary, contents).and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

/// Creates `path` readable by the owner only, atomically: the contents are
/// written to a private temporary file first and then linked into place, so a
/// concurrent reader never sees a partial key. Fails with `AlreadyExists` if
/// another process won the race.
fn write_private_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temporary = temporary_beside(path);
    let linked = write_private_file(&temporary, contents)
        .and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    linked
}

/// `admin.url` → `admin.url.tmp-PID`: one per file and process.
fn temporary_beside(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

/// A new file of mode 0600 with `contents`, synced. An existing file is
/// removed first: opening it would keep its mode.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
