//! `getAggregationFeeRecord` (v2 spec §2.2.3): consolidation fees charged to
//! the merchant. ccgate charges none (the operator carries the gas of sweeps,
//! docs/decisions.md §13), so the list is always empty; the request is still
//! checked as CCPayment's is, so a client's mistakes show here too.

use serde::Serialize;

use crate::RequestError;
use crate::request::Fields;

/// Records one page may hold.
pub const PAGE_LIMIT_MAX: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregationFeeRequest {
    pub start_at: u64,
    pub end_at: u64,
}

impl AggregationFeeRequest {
    pub fn from_fields(fields: &Fields) -> Result<AggregationFeeRequest, RequestError> {
        let start_at = fields.required_u64("startAt")?;
        let end_at = fields.required_u64("endAt")?;
        if end_at < start_at {
            return Err(RequestError::FieldType {
                field: "endAt",
                expected: "a time at or after startAt",
            });
        }
        if fields
            .optional_u64(&["limit"])?
            .is_some_and(|limit| limit > PAGE_LIMIT_MAX)
        {
            return Err(RequestError::FieldType {
                field: "limit",
                expected: "at most 100",
            });
        }
        fields.optional_str(&["nextId"])?;
        fields.optional_str(&["chain"])?;
        fields.optional_str(&["address"])?;
        Ok(AggregationFeeRequest { start_at, end_at })
    }
}

/// One consolidation and what it cost, per coin.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AggregationFee {
    pub coin_id: u64,
    pub coin_symbol: String,
    pub aggregation_fee: String,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRecord {
    pub collects: Vec<AggregationFee>,
    pub aggregation_time: i64,
    pub chain: String,
    pub address: String,
}

/// `{"list":[…],"nextId":""}`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AggregationFeeRecords {
    pub list: Vec<AggregationRecord>,
    pub next_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    #[test]
    fn a_window_and_a_bounded_page_are_required() {
        let parse = |body: &str| {
            AggregationFeeRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
        };
        assert_eq!(
            parse(r#"{"startAt":10,"endAt":"20","limit":100,"chain":"ETH"}"#),
            Ok(AggregationFeeRequest {
                start_at: 10,
                end_at: 20
            })
        );
        assert_eq!(
            parse(r#"{"endAt":20}"#),
            Err(RequestError::MissingField { field: "startAt" })
        );
        assert!(parse(r#"{"startAt":30,"endAt":20}"#).is_err());
        assert!(parse(r#"{"startAt":10,"endAt":20,"limit":101}"#).is_err());
    }
}
