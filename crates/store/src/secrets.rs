//! The gateway's own secrets (the deposit seed), sealed under the master key.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretSlice};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::SqlStore;
use crate::rows::Columns;

#[async_trait]
pub trait SecretStore: Send + Sync + std::fmt::Debug + 'static {
    /// The secret stored under `name`, storing `fresh` first if there is none,
    /// so that concurrent first starts agree on one value.
    async fn load_or_init_secret(
        &self,
        name: &str,
        fresh: &SecretSlice<u8>,
    ) -> Result<SecretSlice<u8>, StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> SecretStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Vec<u8>: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn load_or_init_secret(
        &self,
        name: &str,
        fresh: &SecretSlice<u8>,
    ) -> Result<SecretSlice<u8>, StoreError> {
        let sealed = self.master_key().seal(name, fresh.expose_secret())?;
        sqlx::query(
            "INSERT INTO sealed_secrets (name, ciphertext) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .execute(&mut *self.write_connection().await?)
        .await?;
        let stored = sqlx::query("SELECT ciphertext FROM sealed_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await?
            .bytes("ciphertext")?;
        self.master_key().open(name, &stored)
    }
}
