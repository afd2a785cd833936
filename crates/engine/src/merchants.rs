//! Merchants as the API meets them: who is asking (its credentials, read
//! through the server's cache on every request), what it holds, the Cwallet
//! ids it may pay, and the resending of its webhooks within its limits.

use std::net::IpAddr;
use std::sync::Arc;

use ccgate_ledger::{Amount, Coin, MerchantId, Registry};
use ccgate_store::{
    CwalletAccount, MerchantCredentials, MerchantSummary, OutboxStore, ResendFilter, Store,
    StoreError,
};
use ipnet::IpNet;

use crate::{EngineError, Rejection};

#[derive(Debug)]
pub struct Merchants {
    registry: Arc<Registry>,
    /// The ledger store, behind the read cache of credentials and balances.
    store: Arc<dyn Store>,
    outbox: Arc<dyn OutboxStore>,
}

/// How often a merchant may ask for its webhooks again (decisions §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendLimits {
    pub per_minute: u32,
    pub per_day: u32,
}

/// Which webhooks to send again: those of the window `[from_ms, to_ms]`,
/// narrowed as the merchant asked.
#[derive(Debug, Clone, Copy)]
pub struct ResendRequest<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Delivered ones too, not only those that failed.
    pub all_results: bool,
    pub order_type: Option<&'a str>,
    pub record_ids: &'a [String],
}

impl Merchants {
    pub fn new(
        registry: Arc<Registry>,
        store: Arc<dyn Store>,
        outbox: Arc<dyn OutboxStore>,
    ) -> Merchants {
        Merchants {
            registry,
            store,
            outbox,
        }
    }

    /// The credentials of the merchant with this Appid, active or not;
    /// `None` if no merchant has it.
    pub async fn credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<Arc<MerchantCredentials>>, EngineError> {
        Ok(self.store.merchant_credentials(app_id).await?)
    }

    /// The credentials of the merchant an API call names, if `client` may
    /// call for it: refused when its allowlist is set and does not list
    /// the address (decisions §23).
    pub async fn api_credentials(
        &self,
        app_id: &str,
        client: IpAddr,
    ) -> Result<Option<Arc<MerchantCredentials>>, EngineError> {
        let Some(credentials) = self.store.merchant_credentials(app_id).await? else {
            return Ok(None);
        };
        if !allowlist_admits(&credentials.api_allowlist, client) {
            return Err(Rejection::ClientAddressRefused(client).into());
        }
        Ok(Some(credentials))
    }

    /// What the merchant is called, for the pages its payers see.
    pub async fn summary(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSummary>, EngineError> {
        Ok(self.store.merchant(app_id).await?)
    }

    /// The Cwallet account with this id, if this gateway knows it.
    pub async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, EngineError> {
        Ok(self.store.cwallet(c_id).await?)
    }

    /// A merchant's available balance of `wanted`, zero included; with no
    /// coin wanted, of every coin it holds a non-zero balance of, in registry
    /// order. Both dialects' balance endpoints answer from here.
    pub async fn available_balances<'r>(
        &'r self,
        app_id: &MerchantId,
        wanted: Option<&'r Coin>,
    ) -> Result<Vec<(&'r Coin, Amount)>, EngineError> {
        let held = self.store.merchant_balances(app_id).await?;
        let available = |coin: &Coin| -> Result<Amount, EngineError> {
            match held.iter().find(|b| b.coin == coin.id) {
                None => Ok(Amount::ZERO),
                Some(b) => b.balance.available().ok_or_else(|| {
                    EngineError::Store(StoreError::Corrupt(format!(
                        "merchant balance of {} is negative",
                        coin.id
                    )))
                }),
            }
        };
        let coins: Vec<&Coin> = match wanted {
            Some(coin) => vec![coin],
            None => self
                .registry
                .coins()
                .filter(|coin| held.iter().any(|b| b.coin == coin.id))
                .collect(),
        };
        let mut balances = Vec::with_capacity(coins.len());
        for coin in coins {
            let value = available(coin)?;
            if wanted.is_none() && value.is_zero() {
                continue;
            }
            balances.push((coin, value));
        }
        Ok(balances)
    }

    /// Queues the webhooks `request` picks for another attempt, if the
    /// merchant is within `limits`; how many were queued.
    pub async fn resend_webhooks(
        &self,
        app_id: &MerchantId,
        request: &ResendRequest<'_>,
        limits: ResendLimits,
        now_unix_ms: i64,
    ) -> Result<u64, EngineError> {
        let ResendLimits {
            per_minute,
            per_day,
        } = limits;
        if !self
            .outbox
            .record_resend_call(app_id, now_unix_ms, per_minute, per_day)
            .await?
        {
            return Err(Rejection::ResendLimited {
                per_minute,
                per_day,
            }
            .into());
        }
        let filter = ResendFilter {
            from_ms: request.from_ms,
            to_ms: request.to_ms,
            all_results: request.all_results,
            order_type: request.order_type,
            record_ids: request.record_ids,
        };
        Ok(self
            .outbox
            .resend_webhooks(app_id, &filter, now_unix_ms, None)
            .await?)
    }
}

/// An allowlist as typed (addresses and CIDR ranges, separated by spaces,
/// commas or lines) in canonical form, each entry once, or the first entry
/// that is neither.
pub fn canonical_allowlist(text: &str) -> Result<String, String> {
    let mut entries: Vec<IpNet> = Vec::new();
    for entry in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|entry| !entry.is_empty())
    {
        let net = match entry.parse::<IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => match entry.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => return Err(entry.to_owned()),
            },
        };
        if !entries.contains(&net) {
            entries.push(net);
        }
    }
    Ok(entries
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

/// Whether a stored allowlist admits `client`: an empty one admits any.
/// The list was canonical when stored; an entry that no longer parses
/// admits no one, never everyone.
fn allowlist_admits(allowlist: &str, client: IpAddr) -> bool {
    let mut entries = allowlist
        .split(' ')
        .filter(|entry| !entry.is_empty())
        .peekable();
    if entries.peek().is_none() {
        return true;
    }
    // An IPv4 client reached over an IPv6 socket arrives as ::ffff:a.b.c.d.
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        IpAddr::V4(_) => client,
    };
    entries.any(|entry| {
        entry
            .parse::<IpNet>()
            .is_ok_and(|net| net.contains(&client))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{allowlist_admits, canonical_allowlist};

    #[test]
    fn allowlists_are_canonical_and_refuse_what_is_no_address() {
        assert_eq!(canonical_allowlist("").unwrap(), "");
        assert_eq!(
            canonical_allowlist(" 10.0.0.1,\n192.168.1.77/24  10.0.0.1 ::1").unwrap(),
            "10.0.0.1/32 192.168.1.0/24 ::1/128"
        );
        assert_eq!(
            canonical_allowlist("10.0.0.1 example.com"),
            Err("example.com".to_owned())
        );
        assert_eq!(
            canonical_allowlist("10.0.0.300"),
            Err("10.0.0.300".to_owned())
        );
    }

    #[test]
    fn an_empty_allowlist_admits_any_and_a_set_one_only_its_addresses() {
        let any = "203.0.113.9".parse().unwrap();
        assert!(allowlist_admits("", any));
        let list = canonical_allowlist("10.0.0.0/8 2001:db8::1").unwrap();
        assert!(allowlist_admits(&list, "10.1.2.3".parse().unwrap()));
        assert!(allowlist_admits(&list, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(allowlist_admits(&list, "2001:db8::1".parse().unwrap()));
        assert!(!allowlist_admits(&list, any));
        assert!(!allowlist_admits(&list, "2001:db8::2".parse().unwrap()));
        assert!(!allowlist_admits("not-an-address", any));
    }
}
