//! The data directory: `ccgate.db` and, unless `CCGATE_MASTER_KEY` is set,
//! `master.key`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ccgate_store::{MasterKey, SqliteStore};
use secrecy::ExposeSecret;

const DATABASE_FILE: &str = "ccgate.db";
const MASTER_KEY_FILE: &str = "master.key";

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
}

/// The data directory's files that only its owner may read.
const PRIVATE_FILES: [&str; 6] = [
    DATABASE_FILE,
    "ccgate.db-wal",
    "ccgate.db-shm",
    MASTER_KEY_FILE,
    crate::commands::serve::ADMIN_URL_FILE,
    "admin.token",
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

/// Creates `path` readable by the owner only, atomically: the contents are
/// written to a private temporary file first and then linked into place, so a
/// concurrent reader never sees a partial key. Fails with `AlreadyExists` if
/// another process won the race.
fn write_private_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    linked
}
