//! Deposit addresses derived deterministically from one master seed.
//!
//! Derivation follows BIP32 over secp256k1 with the paths ordinary wallets
//! use (BIP44 for EVM and Tron, BIP84 for Bitcoin), so an operator can import
//! the seed into standard wallet software and reach every deposit.

use bip32::{ChildNumber, XPrv, XPub};
use ccgate_ledger::ChainFamily;
use rand::TryRngCore;
use rand::rngs::OsRng;
use ripemd::Ripemd160;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::{Digest, Sha256};
use sha3::Keccak256;

use crate::address::{bitcoin_p2wpkh_address, to_checksum_address, tron_address};

/// Length of a deposit seed, the same as a BIP39 seed so wallets accept it.
pub const SEED_LEN: usize = 64;

const HARDENED: u32 = ChildNumber::HARDENED_FLAG;

// Paths down to each family's external (receiving) chain; the address index
// is the one step left below them.
/// m/44'/60'/0'/0
const EVM_CHAIN_PATH: [u32; 4] = [44 | HARDENED, 60 | HARDENED, HARDENED, 0];
/// m/44'/60'/1'/0: the EVM hot wallet's account, apart from the deposit
/// addresses' account 0' so no deposit index can ever be the hot wallet.
const EVM_HOT_WALLET_CHAIN_PATH: [u32; 4] = [44 | HARDENED, 60 | HARDENED, 1 | HARDENED, 0];
/// m/44'/195'/0'/0
const TRON_CHAIN_PATH: [u32; 4] = [44 | HARDENED, 195 | HARDENED, HARDENED, 0];
/// m/84'/0'/0'/0
const BITCOIN_CHAIN_PATH: [u32; 4] = [84 | HARDENED, HARDENED, HARDENED, 0];

/// Why a seed or an address could not be produced. Messages never contain
/// key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("deposit seed must be {SEED_LEN} bytes, got {len}")]
    SeedLength { len: usize },
    #[error("address index {index} is 2^31 or above; only non-hardened indices are used")]
    IndexOutOfRange { index: u32 },
    #[error("the operating system's random number generator failed")]
    Entropy(#[source] rand::rand_core::OsError),
    /// BIP32 rejects a step whose key falls outside the curve order; the
    /// chance is below 2^-127, so this is reported rather than skipped past.
    #[error("key derivation failed")]
    Derivation(#[from] bip32::Error),
}

/// The 64-byte seed every deposit address is derived from.
pub struct DepositSeed(SecretBox<[u8; SEED_LEN]>);

impl DepositSeed {
    /// A fresh seed straight from the operating system, not from a userspace
    /// generator whose state would stay in memory able to reproduce it.
    pub fn generate() -> Result<DepositSeed, KeyError> {
        let mut secret = empty_seed();
        OsRng
            .try_fill_bytes(secret.expose_secret_mut())
            .map_err(KeyError::Entropy)?;
        Ok(DepositSeed(secret))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DepositSeed, KeyError> {
        if bytes.len() != SEED_LEN {
            return Err(KeyError::SeedLength { len: bytes.len() });
        }
        let mut secret = empty_seed();
        secret.expose_secret_mut().copy_from_slice(bytes);
        Ok(DepositSeed(secret))
    }

    /// The raw seed, for encrypted storage only.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

/// Zeroed storage that is wiped on drop, filled in place so the seed is never
/// copied through an unprotected temporary.
fn empty_seed() -> SecretBox<[u8; SEED_LEN]> {
    SecretBox::new(Box::new([0; SEED_LEN]))
}

impl std::fmt::Debug for DepositSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DepositSeed(<redacted>)")
    }
}

/// Derives deposit addresses: BIP32 over secp256k1 with the wallets' standard
/// paths, so an operator can import the seed into ordinary wallet software to
/// reach the funds.
///
/// Holds only the extended public keys of each family's receiving chain: the
/// hardened steps above them are the costly part of derivation and are done
/// once, and addresses need no private key, so none is kept in memory.
pub struct DepositKeys {
    evm: XPub,
    tron: XPub,
    bitcoin: XPub,
}

impl DepositKeys {
    pub fn new(seed: &DepositSeed) -> Result<DepositKeys, KeyError> {
        let master = XPrv::new(seed.as_bytes())?;
        Ok(DepositKeys {
            evm: chain_key(&master, EVM_CHAIN_PATH)?,
            tron: chain_key(&master, TRON_CHAIN_PATH)?,
            bitcoin: chain_key(&master, BITCOIN_CHAIN_PATH)?,
        })
    }

    /// The address at `index` for a chain family:
    /// - Evm: m/44'/60'/0'/0/index, EIP-55 `0x…`
    /// - Tron: m/44'/195'/0'/0/index, base58check `T…`
    /// - Bitcoin: m/84'/0'/0'/0/index, P2WPKH `bc1q…`
    ///
    /// `index` must be below 2^31.
    pub fn address(&self, family: ChainFamily, index: u32) -> Result<String, KeyError> {
        // Checked here so the caller learns the index is wrong rather than
        // seeing a derivation failure: bip32 reads a high index as a hardened
        // step, which public derivation cannot take.
        if index >= HARDENED {
            return Err(KeyError::IndexOutOfRange { index });
        }
        let child = ChildNumber::from(index);
        Ok(match family {
            ChainFamily::Evm => to_checksum_address(&account_hash(&self.evm.derive_child(child)?)),
            ChainFamily::Tron => tron_address(&account_hash(&self.tron.derive_child(child)?)),
            ChainFamily::Bitcoin => {
                bitcoin_p2wpkh_address(&hash160(&self.bitcoin.derive_child(child)?))
            }
        })
    }
}

impl std::fmt::Debug for DepositKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not secret, but an extended public key reveals every deposit
        // address, linking all customers' payments together.
        f.write_str("DepositKeys(<redacted>)")
    }
}

/// The private key that signs EVM payouts: m/44'/60'/1'/0/0 of the deposit
/// seed (the same key on every EVM chain), so the operator's seed backup
/// covers the hot wallet too.
pub fn evm_hot_wallet_key(seed: &DepositSeed) -> Result<SecretBox<[u8; 32]>, KeyError> {
    evm_private_key(seed, EVM_HOT_WALLET_CHAIN_PATH, 0)
}

/// The private key of the EVM deposit address at `index`
/// (m/44'/60'/0'/0/index, the address `DepositKeys::address` gives): it signs
/// that address's sweeps into the hot wallet.
pub fn evm_deposit_key(seed: &DepositSeed, index: u32) -> Result<SecretBox<[u8; 32]>, KeyError> {
    if index >= HARDENED {
        return Err(KeyError::IndexOutOfRange { index });
    }
    evm_private_key(seed, EVM_CHAIN_PATH, index)
}

fn evm_private_key(
    seed: &DepositSeed,
    path: [u32; 4],
    index: u32,
) -> Result<SecretBox<[u8; 32]>, KeyError> {
    let master = XPrv::new(seed.as_bytes())?;
    let mut key = master;
    for step in path.into_iter().chain([index]) {
        key = key.derive_child(ChildNumber::from(step))?;
    }
    Ok(SecretBox::new(Box::new(key.to_bytes())))
}

fn chain_key(master: &XPrv, path: [u32; 4]) -> Result<XPub, KeyError> {
    let mut key = master.derive_child(ChildNumber::from(path[0]))?;
    for step in &path[1..] {
        key = key.derive_child(ChildNumber::from(*step))?;
    }
    Ok(key.public_key())
}

/// The EVM/Tron account: the last 20 bytes of keccak256 over the uncompressed
/// public key without its 0x04 tag.
fn account_hash(key: &XPub) -> [u8; 20] {
    let point = key.public_key().to_encoded_point(false);
    let digest = Keccak256::digest(&point.as_bytes()[1..]);
    let mut account = [0u8; 20];
    account.copy_from_slice(&digest[12..]);
    account
}

/// Bitcoin's HASH160 (RIPEMD160 of SHA256) of the compressed public key.
fn hash160(key: &XPub) -> [u8; 20] {
    Ripemd160::digest(Sha256::digest(key.to_bytes())).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::address::validate_address;

    /// BIP39 seed (empty passphrase) of the Hardhat/Anvil development mnemonic
    /// "test test test test test test test test test test test junk", i.e.
    /// PBKDF2-HMAC-SHA512(mnemonic, "mnemonic", 2048), computed with Python's
    /// `hashlib.pbkdf2_hmac`.
    const HARDHAT_SEED: &str = "9dfc3c64c2f8bede1533b6a79f8570e5943e0b8fd1cf77107adf7b72cef42185\
                                d564a3aee24cab43f80e3c4538087d70fc824eabbad596a23c97b6ee8322ccc0";

    /// BIP39 seed (empty passphrase) of "abandon abandon abandon abandon
    /// abandon abandon abandon abandon abandon abandon abandon about", the
    /// mnemonic of the BIP84 test vectors; computed the same way.
    const ABANDON_SEED: &str = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1\
                                9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4";

    fn keys_for(seed_hex: &str) -> DepositKeys {
        let seed = DepositSeed::from_bytes(&hex::decode(seed_hex).unwrap()).unwrap();
        DepositKeys::new(&seed).unwrap()
    }

    #[test]
    fn evm_matches_the_hardhat_accounts() {
        let keys = keys_for(HARDHAT_SEED);
        assert_eq!(
            keys.address(ChainFamily::Evm, 0).unwrap(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            keys.address(ChainFamily::Evm, 1).unwrap(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
    }

    /// The private keys the Hardhat/Anvil tools print for their accounts 0
    /// and 1 (m/44'/60'/0'/0/0 and /1): private derivation along the EVM
    /// path is the wallets' own.
    #[test]
    fn evm_private_keys_match_the_hardhat_accounts() {
        let seed = DepositSeed::from_bytes(&hex::decode(HARDHAT_SEED).unwrap()).unwrap();
        for (index, expected) in [
            (
                0,
                "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            ),
            (
                1,
                "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
            ),
        ] {
            let key = evm_deposit_key(&seed, index).unwrap();
            assert_eq!(hex::encode(key.expose_secret()), expected);
        }
        assert_eq!(
            evm_deposit_key(&seed, HARDENED).err(),
            Some(KeyError::IndexOutOfRange { index: HARDENED })
        );
        let hot = evm_hot_wallet_key(&seed).unwrap();
        let deposit_zero = evm_deposit_key(&seed, 0).unwrap();
        assert_ne!(hot.expose_secret(), deposit_zero.expose_secret());
    }

    #[test]
    fn bitcoin_matches_the_bip84_vectors() {
        let keys = keys_for(ABANDON_SEED);
        assert_eq!(
            keys.address(ChainFamily::Bitcoin, 0).unwrap(),
            "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
        );
        assert_eq!(
            keys.address(ChainFamily::Bitcoin, 1).unwrap(),
            "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"
        );
    }

    /// The expected addresses were computed independently with a pure-Python
    /// BIP32/secp256k1/keccak implementation (the same script reproduces the
    /// Hardhat accounts and BIP84 vectors above).
    #[test]
    fn tron_matches_the_standard_path() {
        let keys = keys_for(ABANDON_SEED);
        assert_eq!(
            keys.address(ChainFamily::Tron, 0).unwrap(),
            "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"
        );
        assert_eq!(
            keys.address(ChainFamily::Tron, 1).unwrap(),
            "TSeJkUh4Qv67VNFwY8LaAxERygNdy6NQZK"
        );
    }

    #[test]
    fn every_family_gives_valid_distinct_repeatable_addresses() {
        let keys = keys_for(HARDHAT_SEED);
        let again = keys_for(HARDHAT_SEED);
        for family in [ChainFamily::Evm, ChainFamily::Tron, ChainFamily::Bitcoin] {
            let mut seen = std::collections::HashSet::new();
            for index in [0, 1, 2, 1000, HARDENED - 1] {
                let address = keys.address(family, index).unwrap();
                assert_eq!(validate_address(family, &address), Ok(()), "{address}");
                assert_eq!(again.address(family, index).unwrap(), address);
                assert!(seen.insert(address), "{family:?} index {index} repeats");
            }
        }
    }

    #[test]
    fn hardened_indices_are_refused() {
        let keys = keys_for(HARDHAT_SEED);
        for family in [ChainFamily::Evm, ChainFamily::Tron, ChainFamily::Bitcoin] {
            for index in [HARDENED, u32::MAX] {
                assert_eq!(
                    keys.address(family, index),
                    Err(KeyError::IndexOutOfRange { index })
                );
            }
        }
    }

    #[test]
    fn seed_must_be_64_bytes() {
        for len in [0, 16, 32, 63, 65] {
            assert_eq!(
                DepositSeed::from_bytes(&vec![7; len]).unwrap_err(),
                KeyError::SeedLength { len }
            );
        }
        let bytes = hex::decode(HARDHAT_SEED).unwrap();
        assert_eq!(DepositSeed::from_bytes(&bytes).unwrap().as_bytes(), bytes);
    }

    #[test]
    fn generated_seeds_are_fresh_and_usable() {
        let first = DepositSeed::generate().unwrap();
        let second = DepositSeed::generate().unwrap();
        assert_eq!(first.as_bytes().len(), SEED_LEN);
        assert_ne!(first.as_bytes(), second.as_bytes());
        let address = DepositKeys::new(&first)
            .unwrap()
            .address(ChainFamily::Evm, 0)
            .unwrap();
        assert_eq!(validate_address(ChainFamily::Evm, &address), Ok(()));
    }

    #[test]
    fn debug_output_reveals_no_key_material() {
        let seed = DepositSeed::from_bytes(&hex::decode(HARDHAT_SEED).unwrap()).unwrap();
        let keys = DepositKeys::new(&seed).unwrap();
        // Exact output, so no seed or key bytes can creep in.
        assert_eq!(format!("{seed:?}"), "DepositSeed(<redacted>)");
        assert_eq!(format!("{keys:?}"), "DepositKeys(<redacted>)");
    }
}
