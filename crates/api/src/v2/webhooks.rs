//! v2 webhook bodies (spec §3.3): `{"type":…,"msg":{…}}`, thin — ids and a
//! status; the receiver re-queries. Compact, keys in this order.

use serde::{Deserialize, Serialize};

/// `type` of a payment to an order (`createAppOrderDepositAddress`,
/// `createCheckoutUrl`).
pub const API_DEPOSIT: &str = "ApiDeposit";
/// `type` of a deposit to a permanent address (`getOrCreateAppDepositAddress`).
pub const DIRECT_DEPOSIT: &str = "DirectDeposit";

/// A webhook: its type and its message.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Webhook<M> {
    #[serde(rename = "type")]
    pub kind: String,
    pub msg: M,
}

/// `ApiDeposit`'s message.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiDepositMsg {
    pub record_id: String,
    /// The merchant's order id, verbatim.
    pub order_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    /// Always `false`: ccgate flags no deposit as risky.
    pub is_flagged_as_risky: bool,
}

/// `DirectDeposit`'s message.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectDepositMsg {
    pub record_id: String,
    /// The merchant's id for its user, as given for the address.
    pub reference_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub is_flagged_as_risky: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_deposit_is_written_as_ccpayment_writes_it() {
        let body = Webhook {
            kind: API_DEPOSIT.to_owned(),
            msg: ApiDepositMsg {
                record_id: "20240919035020188328269786624000".into(),
                order_id: "1726717497".into(),
                coin_id: 2541,
                coin_symbol: "POL".into(),
                status: "Success".into(),
                is_flagged_as_risky: false,
            },
        };
        // The example of v2 spec §3.3.1, byte for byte.
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"type":"ApiDeposit","msg":{"recordId":"20240919035020188328269786624000","orderId":"1726717497","coinId":2541,"coinSymbol":"POL","status":"Success","isFlaggedAsRisky":false}}"#
        );
    }

    #[test]
    fn a_direct_deposit_is_written_as_ccpayment_writes_it() {
        let body = Webhook {
            kind: DIRECT_DEPOSIT.to_owned(),
            msg: DirectDepositMsg {
                record_id: "20250321034441254643830061580288".into(),
                reference_id: "67c34bb3".into(),
                coin_id: 1280,
                coin_symbol: "USDT".into(),
                status: "Success".into(),
                is_flagged_as_risky: false,
            },
        };
        // The real capture of v2 spec §3.3.2 (its referenceId shortened).
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"type":"DirectDeposit","msg":{"recordId":"20250321034441254643830061580288","referenceId":"67c34bb3","coinId":1280,"coinSymbol":"USDT","status":"Success","isFlaggedAsRisky":false}}"#
        );
    }
}
