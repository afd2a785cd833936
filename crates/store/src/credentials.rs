use rand::Rng;
use secrecy::SecretString;
use time::OffsetDateTime;
use time::macros::format_description;

/// A 33-digit Appid like CCPayment's: `yyyyMMddHHmmss` (UTC) and 19 random digits.
pub fn generate_app_id(now_unix_secs: i64) -> String {
    let stamp = OffsetDateTime::from_unix_timestamp(now_unix_secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .unwrap_or_else(|_| "19700101000000".to_owned());
    let suffix: u64 = rand::rng().random_range(0..10_000_000_000_000_000_000);
    format!("{stamp}{suffix:019}")
}

/// 32 lower-case hex characters from the OS-seeded CSPRNG.
pub fn generate_app_secret() -> SecretString {
    let bytes: [u8; 16] = rand::rng().random();
    SecretString::from(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn app_id_shape() {
        let id = generate_app_id(1_677_152_490);
        assert_eq!(id.len(), 33);
        assert!(id.starts_with("20230223114130"));
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn secret_shape() {
        let secret = generate_app_secret();
        let text = secret.expose_secret();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_ne!(text, generate_app_secret().expose_secret());
    }
}
