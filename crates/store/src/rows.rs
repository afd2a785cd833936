//! What every SQL store shares: typed reads of a row of either backend, and
//! how stored text and integers become domain values. Both schemas keep the
//! same columns with the same meaning (amounts as decimal text, flags as 0/1
//! integers), so a row of either backend maps the same way. Each store maps
//! its own rows; this file knows no store.

use std::str::FromStr;

use ccgate_ledger::{AccountBalance, Amount, Direction};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::StoreError;
use crate::writes::WebhookDialect;

/// The typed reads the mappers need, for a row of any backend whose driver
/// decodes text, 64-bit integers and bytes.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
}

impl<R> Columns for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database>,
    String: Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database>,
    i64: Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database>,
    Vec<u8>: Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// One figure of those /metrics reads, kept as rows change (`metric_counts`
/// on SQLite, summed `metric_deltas` on PostgreSQL); 0 until first counted.
pub(crate) fn figure(figures: &[(String, i64)], name: &str) -> Result<u64, StoreError> {
    figures
        .iter()
        .find(|(kept, _)| kept == name)
        .map_or(Ok(0), |(_, value)| to_u64(*value, name))
}

pub(crate) fn parse_amount(text: &str) -> Result<Amount, StoreError> {
    u128::from_str(text)
        .map(Amount::from_base_units)
        .map_err(|_| StoreError::Corrupt(format!("amount {text:?} is not an integer")))
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} is too large")))
}

pub(crate) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

pub(crate) fn seq_number(seq: usize) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt("too many postings".into()))
}

pub(crate) fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Debit => "debit",
        Direction::Credit => "credit",
    }
}

pub(crate) fn balance_from_row(row: &impl Columns) -> Result<AccountBalance, StoreError> {
    Ok(AccountBalance {
        debits_posted: parse_amount(&row.text("debits_posted")?)?,
        credits_posted: parse_amount(&row.text("credits_posted")?)?,
    })
}

pub(crate) fn dialect_from(text: &str) -> Result<WebhookDialect, StoreError> {
    WebhookDialect::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown webhook dialect {text:?}")))
}
