//! Whether a string is a mainnet receiving address for a chain family, and
//! the encoders the devnet uses to mint addresses that pass the same check.
//!
//! Validation is about format only (encoding, checksum, network); it cannot
//! tell whether anyone holds the key for an address.

use bech32::primitives::decode::{ChecksumError, SegwitHrpstringError};
use bech32::{Bech32, ByteIterExt, Fe32IterExt, hrp, segwit};
use ccgate_ledger::ChainFamily;
use sha3::{Digest, Keccak256};

/// Longest input that is examined at all. Real addresses are far shorter
/// (bech32 tops out at 90), and checking this before decoding keeps hostile
/// multi-kilobyte input cheap.
pub const ADDRESS_LEN_MAX: usize = 128;

const EVM: &str = "EVM";
const EVM_EXPECTED: &str = "0x followed by 40 hexadecimal digits";
const EVM_HEX_LEN: usize = 40;

const TRON: &str = "Tron";
const TRON_EXPECTED: &str = "34 base58 characters starting with T";
const TRON_ADDRESS_LEN: usize = 34;
const TRON_VERSION: u8 = 0x41;

const BITCOIN: &str = "Bitcoin";
const BITCOIN_EXPECTED: &str = "a bc1… segwit address, or a base58 address starting with 1 or 3";
const BITCOIN_P2PKH_VERSION: u8 = 0x00;
const BITCOIN_P2SH_VERSION: u8 = 0x05;
const BITCOIN_TESTNET_P2PKH_VERSION: u8 = 0x6f;
const BITCOIN_TESTNET_P2SH_VERSION: u8 = 0xc4;
/// Segwit prefixes of Bitcoin's own networks. Anything else is treated as
/// base58, so a mistyped legacy address is reported against the legacy
/// format instead of as a broken bech32 string.
const BITCOIN_SEGWIT_PREFIXES: [&str; 3] = ["bc1", "tb1", "bcrt1"];

/// Account hashes (EVM, Tron) and P2PKH/P2SH/P2WPKH programs are all 20 bytes.
const HASH_LEN: usize = 20;

/// Why a string is not an acceptable address. Messages never repeat the
/// input, so they are safe to return to API callers and to log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("address is empty")]
    Empty,
    #[error("address is too long (over {max_len} bytes)")]
    TooLong { max_len: usize },
    #[error("address has leading or trailing whitespace")]
    SurroundingWhitespace,
    #[error("not a valid {family} address: expected {expected}")]
    Malformed {
        family: &'static str,
        expected: &'static str,
    },
    #[error("{family} address checksum does not match; the address probably contains a typo")]
    ChecksumMismatch { family: &'static str },
    #[error("{family} address belongs to another network (such as testnet), not mainnet")]
    WrongNetwork { family: &'static str },
}

/// Checks that `address` is a valid mainnet receiving address for a chain of
/// `family`. Never panics, whatever the input.
pub fn validate_address(family: ChainFamily, address: &str) -> Result<(), AddressError> {
    if address.len() > ADDRESS_LEN_MAX {
        return Err(AddressError::TooLong {
            max_len: ADDRESS_LEN_MAX,
        });
    }
    if address.is_empty() {
        return Err(AddressError::Empty);
    }
    // Said explicitly because a pasted address with a stray space or newline
    // is common, and "expected 0x followed by…" would not explain it.
    if address.trim() != address {
        return Err(AddressError::SurroundingWhitespace);
    }
    match family {
        ChainFamily::Evm => validate_evm(address),
        ChainFamily::Tron => validate_tron(address),
        ChainFamily::Bitcoin => validate_bitcoin(address),
    }
}

/// The form addresses are stored in: an EVM address in any letter case
/// becomes its EIP-55 form (what the gateway derives and stores); every
/// other address is compared as written.
pub fn canonical_address(family: ChainFamily, address: &str) -> String {
    let mut bytes = [0u8; 20];
    match (family, address.strip_prefix("0x")) {
        (ChainFamily::Evm, Some(hex_digits))
            if hex::decode_to_slice(hex_digits, &mut bytes).is_ok() =>
        {
            to_checksum_address(&bytes)
        }
        _ => address.to_owned(),
    }
}

/// The EIP-55 mixed-case `0x…` form of a 20-byte EVM account.
pub fn to_checksum_address(address_20_bytes: &[u8; 20]) -> String {
    let lower_hex: String = address_20_bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("0x{}", eip55_checksummed(&lower_hex))
}

/// The base58check `T…` form of a 20-byte Tron account.
pub fn tron_address(payload_20_bytes: &[u8; 20]) -> String {
    let mut versioned = Vec::with_capacity(1 + HASH_LEN);
    versioned.push(TRON_VERSION);
    versioned.extend_from_slice(payload_20_bytes);
    bs58::encode(versioned).with_check().into_string()
}

/// The mainnet segwit v0 `bc1q…` address for a 20-byte public-key hash.
pub fn bitcoin_p2wpkh_address(program_20_bytes: &[u8; 20]) -> String {
    // The iterator encoder is used over `segwit::encode_v0` because it cannot
    // fail: the 20-byte program and `bc` prefix are fixed by the types, so
    // there is no error worth surfacing to callers.
    program_20_bytes
        .iter()
        .copied()
        .bytes_to_fes()
        .with_checksum::<Bech32>(&hrp::BC)
        .with_witness_version(segwit::VERSION_0)
        .chars()
        .collect()
}

fn validate_evm(address: &str) -> Result<(), AddressError> {
    let malformed = || AddressError::Malformed {
        family: EVM,
        expected: EVM_EXPECTED,
    };
    let hex_digits = address.strip_prefix("0x").ok_or_else(malformed)?;
    if hex_digits.len() != EVM_HEX_LEN || !hex_digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed());
    }
    let has_lower = hex_digits.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex_digits.bytes().any(|b| b.is_ascii_uppercase());
    // Single-case addresses carry no checksum and wallets accept them; only
    // mixed case claims to be EIP-55 and so must match it.
    if !(has_lower && has_upper) {
        return Ok(());
    }
    if eip55_checksummed(&hex_digits.to_ascii_lowercase()) == hex_digits {
        Ok(())
    } else {
        Err(AddressError::ChecksumMismatch { family: EVM })
    }
}

/// Applies EIP-55 casing to lower-case hex digits (no `0x`).
fn eip55_checksummed(lower_hex: &str) -> String {
    let hash = Keccak256::digest(lower_hex.as_bytes());
    let hash_nibbles = hash.iter().flat_map(|byte| [byte >> 4, byte & 0x0f]);
    lower_hex
        .chars()
        .zip(hash_nibbles)
        .map(|(digit, nibble)| {
            if nibble >= 8 {
                digit.to_ascii_uppercase()
            } else {
                digit
            }
        })
        .collect()
}

fn validate_tron(address: &str) -> Result<(), AddressError> {
    let malformed = || AddressError::Malformed {
        family: TRON,
        expected: TRON_EXPECTED,
    };
    if address.len() != TRON_ADDRESS_LEN || !address.starts_with('T') {
        return Err(malformed());
    }
    match decode_base58check(address, TRON, TRON_EXPECTED)?.split_first() {
        Some((&TRON_VERSION, hash)) if hash.len() == HASH_LEN => Ok(()),
        _ => Err(malformed()),
    }
}

fn validate_bitcoin(address: &str) -> Result<(), AddressError> {
    if has_bitcoin_segwit_prefix(address) {
        validate_bitcoin_segwit(address)
    } else {
        validate_bitcoin_base58(address)
    }
}

fn has_bitcoin_segwit_prefix(address: &str) -> bool {
    BITCOIN_SEGWIT_PREFIXES.iter().any(|prefix| {
        address
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    })
}

fn validate_bitcoin_segwit(address: &str) -> Result<(), AddressError> {
    // `segwit::decode` also enforces bech32 for v0 and bech32m for v1+
    // (BIP-350), single case, and valid witness program lengths.
    let (network, witness_version, witness_program) =
        segwit::decode(address).map_err(|error| match error.0 {
            SegwitHrpstringError::Checksum(ChecksumError::InvalidResidue) => {
                AddressError::ChecksumMismatch { family: BITCOIN }
            }
            _ => AddressError::Malformed {
                family: BITCOIN,
                expected: BITCOIN_EXPECTED,
            },
        })?;
    if network != hrp::BC {
        return Err(AddressError::WrongNetwork { family: BITCOIN });
    }
    // Only the outputs a wallet can spend today: P2WPKH/P2WSH (v0, 20 or 32
    // bytes) and P2TR (v1, 32 bytes). Coins paid to a future version are
    // spendable by anyone, so such an address is refused as a destination.
    let spendable = matches!(
        (witness_version.to_u8(), witness_program.len()),
        (0, 20) | (0, 32) | (1, 32)
    );
    if spendable {
        Ok(())
    } else {
        Err(AddressError::Malformed {
            family: BITCOIN,
            expected: BITCOIN_EXPECTED,
        })
    }
}

fn validate_bitcoin_base58(address: &str) -> Result<(), AddressError> {
    let malformed = || AddressError::Malformed {
        family: BITCOIN,
        expected: BITCOIN_EXPECTED,
    };
    match decode_base58check(address, BITCOIN, BITCOIN_EXPECTED)?.split_first() {
        Some((&version, hash)) if hash.len() == HASH_LEN => match version {
            BITCOIN_P2PKH_VERSION | BITCOIN_P2SH_VERSION => Ok(()),
            BITCOIN_TESTNET_P2PKH_VERSION | BITCOIN_TESTNET_P2SH_VERSION => {
                Err(AddressError::WrongNetwork { family: BITCOIN })
            }
            _ => Err(malformed()),
        },
        _ => Err(malformed()),
    }
}

/// Decodes base58check, returning the version byte followed by the payload.
fn decode_base58check(
    address: &str,
    family: &'static str,
    expected: &'static str,
) -> Result<Vec<u8>, AddressError> {
    bs58::decode(address)
        .with_check(None)
        .into_vec()
        .map_err(|error| match error {
            bs58::decode::Error::InvalidChecksum { .. } => {
                AddressError::ChecksumMismatch { family }
            }
            _ => AddressError::Malformed { family, expected },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evm_addresses_are_compared_in_their_eip55_form_in_any_case() {
        let stored = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        for written in [
            stored,
            &stored.to_lowercase(),
            &format!("0x{}", stored[2..].to_uppercase()),
        ] {
            assert_eq!(
                canonical_address(ChainFamily::Evm, written),
                stored,
                "{written}"
            );
        }
        assert_eq!(canonical_address(ChainFamily::Evm, "0x12"), "0x12");
        let tron = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
        assert_eq!(canonical_address(ChainFamily::Tron, tron), tron);
    }

    fn check(family: ChainFamily, address: &str, expected: Result<(), AddressError>) {
        assert_eq!(
            validate_address(family, address),
            expected,
            "{family:?} {address:?}"
        );
    }

    fn evm_malformed() -> Result<(), AddressError> {
        Err(AddressError::Malformed {
            family: EVM,
            expected: EVM_EXPECTED,
        })
    }

    fn tron_malformed() -> Result<(), AddressError> {
        Err(AddressError::Malformed {
            family: TRON,
            expected: TRON_EXPECTED,
        })
    }

    fn bitcoin_malformed() -> Result<(), AddressError> {
        Err(AddressError::Malformed {
            family: BITCOIN,
            expected: BITCOIN_EXPECTED,
        })
    }

    fn checksum_mismatch(family: &'static str) -> Result<(), AddressError> {
        Err(AddressError::ChecksumMismatch { family })
    }

    fn wrong_network(family: &'static str) -> Result<(), AddressError> {
        Err(AddressError::WrongNetwork { family })
    }

    fn bytes_20_from_hex(hex_digits: &str) -> [u8; 20] {
        let mut bytes = [0u8; 20];
        for (byte, pair) in bytes.iter_mut().zip(hex_digits.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).unwrap_or_default();
            *byte = u8::from_str_radix(pair, 16).unwrap_or_default();
        }
        bytes
    }

    /// The four examples from EIP-55 itself, plus the USDT ERC-20 contract.
    const EIP55_VECTORS: [&str; 5] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0xdAC17F958D2ee523a2206206994597C13D831ec7",
    ];

    #[test]
    fn evm_accepts_eip55_vectors_and_their_single_case_forms() {
        for vector in EIP55_VECTORS {
            let hex_digits = &vector[2..];
            check(ChainFamily::Evm, vector, Ok(()));
            check(
                ChainFamily::Evm,
                &format!("0x{}", hex_digits.to_ascii_lowercase()),
                Ok(()),
            );
            check(
                ChainFamily::Evm,
                &format!("0x{}", hex_digits.to_ascii_uppercase()),
                Ok(()),
            );
        }
        check(
            ChainFamily::Evm,
            "0x0000000000000000000000000000000000000000",
            Ok(()),
        );
    }

    #[test]
    fn evm_rejects_a_one_letter_case_flip_as_checksum_mismatch() {
        let flipped = [
            "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xFB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xDbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xd1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "0xDAC17F958D2ee523a2206206994597C13D831ec7",
        ];
        for address in flipped {
            check(ChainFamily::Evm, address, checksum_mismatch(EVM));
        }
    }

    #[test]
    fn evm_rejects_malformed_addresses() {
        let cases = [
            "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
            "0x",
            "0x 5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            // 40 bytes but 20 characters: must not be sliced mid-character.
            "0xéééééééééééééééééééé",
        ];
        for address in cases {
            check(ChainFamily::Evm, address, evm_malformed());
        }
    }

    #[test]
    fn tron_accepts_known_mainnet_addresses() {
        // USDT TRC-20 contract, and an address from Tron's documentation.
        for address in [
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "TYWnk1EGALQyYst2yFSd29QQQTEkuKMbyt",
        ] {
            check(ChainFamily::Tron, address, Ok(()));
        }
    }

    #[test]
    fn tron_rejects_changed_or_malformed_addresses() {
        let cases = [
            (
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",
                checksum_mismatch(TRON),
            ),
            (
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj7t",
                checksum_mismatch(TRON),
            ),
            (
                "TYWnk1EGALQyYst2yFSd29QQQTEkuKMbyT",
                checksum_mismatch(TRON),
            ),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", tron_malformed()),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6tt", tron_malformed()),
            ("AR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", tron_malformed()),
            // '0' is not in the base58 alphabet.
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60", tron_malformed()),
            // Well-formed base58check, but Bitcoin's version byte.
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", tron_malformed()),
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                tron_malformed(),
            ),
        ];
        for (address, expected) in cases {
            check(ChainFamily::Tron, address, expected);
        }
    }

    #[test]
    fn tron_rejects_a_valid_base58check_string_with_another_version_byte() {
        // 34 characters starting with T, correct checksum, wrong version:
        // only the version check can catch it.
        let mut versioned = vec![0x42];
        versioned.extend_from_slice(&[0xab; HASH_LEN]);
        let address = bs58::encode(versioned).with_check().into_string();
        assert!(address.starts_with('T') && address.len() == TRON_ADDRESS_LEN);
        check(ChainFamily::Tron, &address, tron_malformed());
    }

    #[test]
    fn bitcoin_accepts_mainnet_vectors() {
        let cases = [
            // BIP-173 P2WPKH; upper case is valid bech32.
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            // BIP-173 P2WSH.
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            // BIP-350 taproot.
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            // Genesis block coinbase P2PKH.
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            // P2SH from the Bitcoin wiki.
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ];
        for address in cases {
            check(ChainFamily::Bitcoin, address, Ok(()));
        }
        // BIP-350's valid v16 and v2 addresses decode, but nothing can spend
        // them today, so they are refused as destinations.
        for address in ["BC1SW50QGDZ25J", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"] {
            check(
                ChainFamily::Bitcoin,
                address,
                Err(AddressError::Malformed {
                    family: BITCOIN,
                    expected: BITCOIN_EXPECTED,
                }),
            );
        }
    }

    #[test]
    fn bitcoin_rejects_mutations_and_other_networks() {
        let cases = [
            // One data character changed.
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
                checksum_mismatch(BITCOIN),
            ),
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3u4",
                checksum_mismatch(BITCOIN),
            ),
            // BIP-350: v0 program with a bech32m checksum.
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
                checksum_mismatch(BITCOIN),
            ),
            // BIP-350: taproot with a bech32 (not bech32m) checksum.
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
                checksum_mismatch(BITCOIN),
            ),
            // Look-alikes of the BIP-173 vectors with a corrupted data part.
            (
                "BC1QW508D6QEJXTDG4C5R3ZAP4SVSZRR9JCZNWM",
                checksum_mismatch(BITCOIN),
            ),
            (
                "tb1qw508d6qejxtdg4c5r3zap4svszrr9jczu0k8g",
                checksum_mismatch(BITCOIN),
            ),
            // BIP-350: 41-byte witness program, longer than segwit allows.
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
                bitcoin_malformed(),
            ),
            // BIP-350: witness version 17 does not exist.
            (
                "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
                bitcoin_malformed(),
            ),
            (
                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
                checksum_mismatch(BITCOIN),
            ),
            (
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
                checksum_mismatch(BITCOIN),
            ),
            // BIP-173 testnet vectors.
            (
                "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
                wrong_network(BITCOIN),
            ),
            (
                "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
                wrong_network(BITCOIN),
            ),
            // BIP-173: mixed case is invalid.
            (
                "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                bitcoin_malformed(),
            ),
            // Another coin's segwit prefix.
            (
                "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
                bitcoin_malformed(),
            ),
            ("bc1", bitcoin_malformed()),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", bitcoin_malformed()),
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                bitcoin_malformed(),
            ),
        ];
        for (address, expected) in cases {
            check(ChainFamily::Bitcoin, address, expected);
        }
    }

    #[test]
    fn bitcoin_rejects_testnet_base58_as_wrong_network() {
        for version in [BITCOIN_TESTNET_P2PKH_VERSION, BITCOIN_TESTNET_P2SH_VERSION] {
            let mut versioned = vec![version];
            versioned.extend_from_slice(&[0x11; HASH_LEN]);
            let address = bs58::encode(versioned).with_check().into_string();
            check(ChainFamily::Bitcoin, &address, wrong_network(BITCOIN));
        }
    }

    #[test]
    fn length_and_whitespace_are_checked_before_format() {
        let huge = "1".repeat(10 * 1024);
        let just_over = "a".repeat(ADDRESS_LEN_MAX + 1);
        let too_long = || {
            Err(AddressError::TooLong {
                max_len: ADDRESS_LEN_MAX,
            })
        };
        for family in [ChainFamily::Evm, ChainFamily::Tron, ChainFamily::Bitcoin] {
            check(family, "", Err(AddressError::Empty));
            check(family, &huge, too_long());
            check(family, &just_over, too_long());
            for padded in [
                " 0xdAC17F958D2ee523a2206206994597C13D831ec7",
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t\n",
                "\t1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
                " ",
            ] {
                check(family, padded, Err(AddressError::SurroundingWhitespace));
            }
        }
    }

    #[test]
    fn junk_never_validates_and_never_panics() {
        let huge = "x".repeat(10 * 1024);
        let huge_unicode = "ß".repeat(10 * 1024);
        let near_tron_length_unicode = format!("T{}", "é".repeat(16));
        let junk = [
            "",
            " ",
            "   ",
            "\0",
            "0x",
            "0x0",
            "T",
            "1",
            "3",
            "bc1",
            "BC1",
            "bc1q",
            "bcrt1",
            "tb1",
            "1111111111111111111111111111111111",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "💸💸💸💸💸💸💸💸💸💸",
            "ТR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", // Cyrillic Т
            "bc1ü",
            "0x\u{202e}dAC17F958D2ee523a2206206994597C13D831ec",
            &near_tron_length_unicode,
            &huge,
            &huge_unicode,
        ];
        for family in [ChainFamily::Evm, ChainFamily::Tron, ChainFamily::Bitcoin] {
            for address in junk {
                assert!(
                    validate_address(family, address).is_err(),
                    "{family:?} accepted {address:?}"
                );
            }
        }
    }

    #[test]
    fn error_messages_do_not_echo_the_input() {
        let address = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let message = validate_address(ChainFamily::Evm, address)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert_eq!(
            message,
            "EVM address checksum does not match; the address probably contains a typo"
        );
    }

    #[test]
    fn to_checksum_address_reproduces_eip55_vectors_and_round_trips() {
        for vector in EIP55_VECTORS {
            let bytes = bytes_20_from_hex(&vector[2..]);
            assert_eq!(to_checksum_address(&bytes), vector);
        }
        for bytes in [[0x00; 20], [0xff; 20], [0x5a; 20]] {
            check(ChainFamily::Evm, &to_checksum_address(&bytes), Ok(()));
        }
    }

    #[test]
    fn tron_address_reproduces_usdt_contract_and_round_trips() {
        let known = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
        let decoded = bs58::decode(known)
            .with_check(Some(TRON_VERSION))
            .into_vec()
            .unwrap_or_default();
        let payload: [u8; 20] = decoded
            .get(1..)
            .and_then(|hash| hash.try_into().ok())
            .unwrap_or_default();
        assert_eq!(tron_address(&payload), known);
        for bytes in [[0x00; 20], [0xff; 20], [0x5a; 20]] {
            check(ChainFamily::Tron, &tron_address(&bytes), Ok(()));
        }
    }

    #[test]
    fn bitcoin_p2wpkh_address_reproduces_bip173_vector_and_round_trips() {
        let program = bytes_20_from_hex("751e76e8199196d454941c45d1b3a323f1433bd6");
        assert_eq!(
            bitcoin_p2wpkh_address(&program),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        );
        for bytes in [[0x00; 20], [0xff; 20], [0x5a; 20]] {
            check(
                ChainFamily::Bitcoin,
                &bitcoin_p2wpkh_address(&bytes),
                Ok(()),
            );
        }
    }
}
