use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::StoreError;

const NONCE_LEN: usize = 12;

/// The key that encrypts app secrets at rest. Never printed: `Debug` is redacted.
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> MasterKey {
        let bytes: [u8; 32] = rand::rng().random();
        MasterKey(Key::from(bytes))
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<MasterKey, StoreError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
            StoreError::MasterKey("expected 64 hexadecimal characters (32 bytes)".to_owned())
        })?;
        Ok(MasterKey(Key::from(bytes)))
    }

    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(self.0))
    }

    /// `nonce || ciphertext`, with `owner` (the Appid, or the secret's name) as
    /// associated data so a ciphertext copied onto another row does not decrypt.
    pub(crate) fn seal(&self, owner: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::rng().random();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = ChaCha20Poly1305::new(&self.0)
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| StoreError::MasterKey("encryption failed".to_owned()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub(crate) fn open(&self, owner: &str, stored: &[u8]) -> Result<SecretSlice<u8>, StoreError> {
        let undecryptable = || StoreError::SecretUndecryptable {
            owner: owner.to_owned(),
        };
        if stored.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let plain = ChaCha20Poly1305::new(&self.0)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| undecryptable())?;
        Ok(SecretSlice::from(plain))
    }

    /// Seals a text secret (an app secret).
    pub(crate) fn seal_text(
        &self,
        owner: &str,
        secret: &SecretString,
    ) -> Result<Vec<u8>, StoreError> {
        self.seal(owner, secret.expose_secret().as_bytes())
    }

    pub(crate) fn open_text(&self, owner: &str, stored: &[u8]) -> Result<SecretString, StoreError> {
        let plain = self.open(owner, stored)?;
        String::from_utf8(plain.expose_secret().to_vec())
            .map(SecretString::from)
            .map_err(|_| StoreError::SecretUndecryptable {
                owner: owner.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let key = MasterKey::generate();
        let secret = SecretString::from("caddaa522ad547ebb42fd77e8b759372".to_owned());
        let sealed = key.seal_text("app-1", &secret).expect("seal");
        assert!(!sealed.windows(8).any(|w| w == b"caddaa52"));
        let opened = key.open_text("app-1", &sealed).expect("open");
        assert_eq!(opened.expose_secret(), secret.expose_secret());
        assert!(key.open("app-2", &sealed).is_err());
        assert!(MasterKey::generate().open("app-1", &sealed).is_err());
        assert!(key.open("app-1", &sealed[..5]).is_err());
    }

    #[test]
    fn hex_round_trip_and_redacted_debug() {
        let key = MasterKey::generate();
        let again = MasterKey::from_hex(key.to_hex().expose_secret()).expect("parse");
        assert_eq!(again.0, key.0);
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert!(MasterKey::from_hex("abc").is_err());
    }
}
