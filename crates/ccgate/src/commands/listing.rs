//! `ccgate order list` and `ccgate withdrawal list`: a page of the newest
//! rows, filtered, as a table, JSON or CSV.

use anyhow::{Context, bail};
use ccgate_engine::orders::{OrderStatus, order_progress};
use ccgate_ledger::{Amount, CoinId, MerchantId, Registry};
use ccgate_store::{ListingFilter, WithdrawalStatus};
use clap::Args;
use serde_json::json;

use super::utc;
use crate::backend::Database;

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

/// What `order list` and `withdrawal list` filter by.
#[derive(Debug, Args)]
pub struct ListingArgs {
    /// Only this merchant's (its Appid).
    #[arg(long)]
    app_id: Option<String>,
    /// Created at or after: unix seconds, a date (2026-12-06, midnight UTC) or
    /// an RFC 3339 time (2026-12-06T07:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Created before (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// At most this many, the newest.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print JSON: an array of objects named by the table's columns.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (RFC 4180, a header line first), for a spreadsheet.
    #[arg(long)]
    csv: bool,
}

impl ListingArgs {
    fn filter(&self) -> anyhow::Result<ListingFilter> {
        let time = |flag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|text| parse_time(text).with_context(|| format!("--{flag} {text:?}")))
                .transpose()
        };
        Ok(ListingFilter {
            app_id: self.app_id.as_deref().map(MerchantId::new),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            limit: self.limit,
        })
    }

    fn format(&self) -> Format {
        match (self.json, self.csv) {
            (true, _) => Format::Json,
            (false, true) => Format::Csv,
            (false, false) => Format::Table,
        }
    }
}

/// `ccgate order list`. An order's status is derived from its payments and
/// the time (never stored), so `status` filters the loaded page.
pub async fn orders(
    database: &Database,
    registry: &Registry,
    listing: &ListingArgs,
    status: Option<OrderStatus>,
) -> anyhow::Result<()> {
    let orders = database.listings().list_orders(&listing.filter()?).await?;
    let order_store = database.orders();
    let now_secs = database.business_now_ms().await?.div_euclid(1000);
    let mut rows = Vec::with_capacity(orders.len());
    for order in orders {
        let payments = order_store.order_payments(&order.order_id).await?;
        let confirming = order_store
            .order_confirming_payment(&order.order_id, order.expires_at.saturating_mul(1000))
            .await?
            .is_some();
        let progress = order_progress(&order, &payments, confirming, now_secs);
        if status.is_some_and(|wanted| wanted != progress.status) {
            continue;
        }
        rows.push(vec![
            order.order_id,
            utc(order.created_at),
            order.app_id.to_string(),
            order.merchant_order_id,
            order.kind,
            progress.status.as_str().to_owned(),
            amount(registry, &order.coin_id, order.order_amount),
            amount(registry, &order.coin_id, progress.paid),
            coin_symbol(registry, &order.coin_id),
            order.chain,
            utc(order.expires_at),
        ]);
    }
    print(
        &[
            "ORDER_ID",
            "CREATED",
            "APPID",
            "MERCHANT_ORDER_ID",
            "KIND",
            "STATUS",
            "AMOUNT",
            "PAID",
            "COIN",
            "CHAIN",
            "EXPIRES",
        ],
        &rows,
        listing.format(),
    );
    Ok(())
}

/// `ccgate withdrawal list`: withdrawals and refunds.
pub async fn withdrawals(
    database: &Database,
    registry: &Registry,
    listing: &ListingArgs,
    status: Option<WithdrawalStatus>,
) -> anyhow::Result<()> {
    let withdrawals = database
        .listings()
        .list_withdrawals(&listing.filter()?, status)
        .await?;
    let rows: Vec<Vec<String>> = withdrawals
        .into_iter()
        .map(|w| {
            // A wallet user's withdrawal is the merchant's money leaving
            // custody too (decisions §28), labelled with its user.
            let kind = if w.is_refund() {
                "refund".to_owned()
            } else if let Some(user_id) = &w.user_id {
                format!("user withdrawal ({user_id})")
            } else {
                "withdrawal".to_owned()
            };
            let to = if w.to_cwallet {
                format!("cwallet:{}", w.to_address)
            } else {
                w.to_address
            };
            vec![
                w.record_id,
                utc(w.created_at),
                w.app_id.to_string(),
                w.merchant_order_id,
                kind,
                w.status.as_str().to_owned(),
                amount(registry, &w.coin_id, w.value),
                amount(registry, &w.coin_id, w.network_fee),
                coin_symbol(registry, &w.coin_id),
                w.chain,
                to,
                w.txid,
            ]
        })
        .collect();
    print(
        &[
            "RECORD_ID",
            "CREATED",
            "APPID",
            "MERCHANT_ORDER_ID",
            "KIND",
            "STATUS",
            "AMOUNT",
            "FEE",
            "COIN",
            "CHAIN",
            "TO",
            "TXID",
        ],
        &rows,
        listing.format(),
    );
    Ok(())
}

fn print(header: &[&str], rows: &[Vec<String>], format: Format) {
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let object: serde_json::Map<String, serde_json::Value> = header
                        .iter()
                        .zip(row)
                        .map(|(name, value)| (name.to_ascii_lowercase(), json!(value)))
                        .collect();
                    serde_json::Value::Object(object)
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
        }
        Format::Csv => {
            let line = |fields: Vec<String>| fields.join(",");
            println!(
                "{}",
                line(
                    header
                        .iter()
                        .map(|name| name.to_ascii_lowercase())
                        .collect()
                )
            );
            for row in rows {
                println!(
                    "{}",
                    line(row.iter().map(|field| csv_field(field)).collect())
                );
            }
        }
        Format::Table => {
            let header: Vec<String> = header.iter().map(|name| (*name).to_owned()).collect();
            print!("{}", super::table(&header, rows));
        }
    }
}

/// RFC 4180: a field with a comma, a quote or a line break is quoted, its
/// quotes doubled. A field a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@` first; a merchant chooses its order ids) gets a leading `'`.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

fn amount(registry: &Registry, coin_id: &CoinId, amount: Amount) -> String {
    match registry.coin(coin_id) {
        Some(coin) => amount.to_decimal_string(coin.precision),
        None => format!("{} base units", amount.base_units()),
    }
}

fn coin_symbol(registry: &Registry, coin_id: &CoinId) -> String {
    registry
        .coin(coin_id)
        .map_or_else(|| coin_id.as_str().to_owned(), |coin| coin.symbol.clone())
}

/// Unix seconds, a date (`2026-12-06`, midnight UTC) or an RFC 3339 time
/// (`2026-12-06T07:00:00Z`, `2026-12-06T08:00:00+01:00`).
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let (date, rest) = text.split_at_checked(10).unwrap_or((text, ""));
    let date = parse_date(date)?;
    if rest.is_empty() {
        return Ok(date.midnight().assume_utc().unix_timestamp());
    }
    let Some(rest) = rest.strip_prefix(['T', 't', ' ']) else {
        bail!("expected unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    };
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(at) => rest.split_at(at),
        None => bail!("an RFC 3339 time needs its offset: Z or ±HH:MM"),
    };
    // Fractions of a second are dropped: the rows are stamped in seconds.
    let clock = clock.split('.').next().unwrap_or(clock);
    let [hour, minute, second] = numbers::<3>(clock, ':')?;
    let time = time::Time::from_hms(
        u8::try_from(hour)?,
        u8::try_from(minute)?,
        u8::try_from(second)?,
    )?;
    let offset_secs = match offset {
        "Z" | "z" => 0,
        signed => {
            let (sign, digits) = signed.split_at(1);
            let [hours, minutes] = numbers::<2>(digits, ':')?;
            let secs = i64::from(hours * 3600 + minutes * 60);
            if sign == "-" { -secs } else { secs }
        }
    };
    Ok(date.with_time(time).assume_utc().unix_timestamp() - offset_secs)
}

fn parse_date(text: &str) -> anyhow::Result<time::Date> {
    let [year, month, day] = numbers::<3>(text, '-')?;
    let month = time::Month::try_from(u8::try_from(month)?)?;
    Ok(time::Date::from_calendar_date(
        i32::try_from(year)?,
        month,
        u8::try_from(day)?,
    )?)
}

/// Exactly `N` unsigned numbers separated by `separator`.
fn numbers<const N: usize>(text: &str, separator: char) -> anyhow::Result<[u32; N]> {
    let parts: Vec<u32> = text
        .split(separator)
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                bail!("{text:?} is not a time");
            }
            Ok(part.parse::<u32>()?)
        })
        .collect::<anyhow::Result<_>>()?;
    parts
        .try_into()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a time"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_are_unix_seconds_dates_or_rfc3339() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14").unwrap(), 1_699_920_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20.5Z").unwrap(), 1_700_000_000);
        assert_eq!(
            parse_time("2023-11-14T23:13:20+01:00").unwrap(),
            1_700_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T21:13:20-01:00").unwrap(),
            1_700_000_000
        );
        for wrong in [
            "yesterday",
            "2023-13-01",
            "2023-11-14T22:13:20",
            "2023-11-14T25:00:00Z",
        ] {
            assert!(parse_time(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
