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
