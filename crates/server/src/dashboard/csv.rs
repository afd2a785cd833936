//! The dashboard's CSV exports (decisions §23): RFC 4180 quoting, CRLF
//! line ends, amounts as exact decimal strings at the coin's precision, and
//! text a spreadsheet would run as a formula defused with a leading `'`.

use ccgate_engine::console::ExportRows;
use ccgate_ledger::{Amount, CoinId, Direction, Registry};

/// One field as CSV: quoted when it holds a comma, a quote, CR or LF, or
/// starts or ends with a space (which some readers trim), its quotes
/// doubled; a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` first, so a
/// spreadsheet shows the text instead of evaluating it.
fn field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    let quote = defused.contains([',', '"', '\r', '\n'])
        || defused.starts_with(' ')
        || defused.ends_with(' ');
    if quote {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// Appends one record, CRLF-terminated.
fn push_line<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    let line: Vec<String> = fields.iter().map(|text| field(text.as_ref())).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// An amount of `coin` as an exact decimal string and the coin's symbol;
/// base units and the coin's id for a coin the registry no longer lists.
fn amount(registry: &Registry, coin: &CoinId, amount: Amount) -> (String, String) {
    match registry.coin(coin) {
        Some(known) => (
            amount.to_decimal_string(known.precision),
            known.symbol.clone(),
        ),
        None => (
            amount.base_units().to_string(),
            format!("{} (base units)", coin.as_str()),
        ),
    }
}

/// The export as a CSV document, a header line first.
pub fn render(rows: &ExportRows, registry: &Registry) -> String {
    let mut out = String::new();
    match rows {
        ExportRows::Orders(orders) => {
            push_line(
                &mut out,
                &[
                    "created_at",
                    "merchant_order_id",
                    "order_id",
                    "coin",
                    "chain",
                    "amount",
                    "paid",
                    "state",
                    "pay_address",
                    "expires_at",
                ],
            );
            for (order, state) in orders {
                let (owed, coin) = amount(registry, &order.coin_id, order.order_amount);
                let (paid, _) = amount(registry, &order.coin_id, state.progress.paid);
                push_line(
                    &mut out,
                    &[
                        order.created_at.to_string(),
                        order.merchant_order_id.clone(),
                        order.order_id.clone(),
                        coin,
                        order.chain.clone(),
                        owed,
                        paid,
                        state.progress.status.as_str().to_owned(),
                        order.pay_address.clone(),
                        order.expires_at.to_string(),
                    ],
                );
            }
        }
        ExportRows::Deposits(deposits) => {
            push_line(
                &mut out,
                &[
                    "credited_at",
                    "record_id",
                    "coin",
                    "chain",
                    "amount",
                    "service_fee",
                    "txid",
                    "from_address",
                    "to_address",
                    "memo",
                    "merchant_order_id",
                    "user_id",
                ],
            );
            for deposit in deposits {
                let (paid, coin) = amount(registry, &deposit.coin_id, deposit.amount);
                let (fee, _) = amount(registry, &deposit.coin_id, deposit.service_fee);
                push_line(
                    &mut out,
                    &[
                        deposit.credited_at.to_string(),
                        deposit.record_id.clone(),
                        coin,
                        deposit.chain.clone(),
                        paid,
                        fee,
                        deposit.txid.clone(),
                        deposit.from_address.clone(),
                        deposit.to_address.clone(),
                        deposit.memo.clone(),
                        deposit.merchant_order_id.clone().unwrap_or_default(),
                        deposit.user_id.clone().unwrap_or_default(),
                    ],
                );
            }
        }
        ExportRows::Withdrawals(withdrawals) => {
            push_line(
                &mut out,
                &[
                    "created_at",
                    "record_id",
                    "merchant_order_id",
                    "coin",
                    "chain",
                    "amount",
                    "network_fee",
                    "debit",
                    "status",
                    "txid",
                    "to_address",
                    "memo",
                    "refund_of",
                    "user_id",
                ],
            );
            for withdrawal in withdrawals {
                let coin_id = &withdrawal.coin_id;
                let (value, coin) = amount(registry, coin_id, withdrawal.value);
                let (fee, _) = amount(registry, coin_id, withdrawal.network_fee);
                let (debit, _) = amount(registry, coin_id, withdrawal.debit);
                push_line(
                    &mut out,
                    &[
                        withdrawal.created_at.to_string(),
                        withdrawal.record_id.clone(),
                        withdrawal.merchant_order_id.clone(),
                        coin,
                        withdrawal.chain.clone(),
                        value,
                        fee,
                        debit,
                        withdrawal.status.as_str().to_owned(),
                        withdrawal.txid.clone(),
                        withdrawal.to_address.clone(),
                        withdrawal.memo.clone(),
                        withdrawal.refund_of.clone().unwrap_or_default(),
                        // A wallet user's withdrawal (decisions §28) names its user.
                        withdrawal.user_id.clone().unwrap_or_default(),
                    ],
                );
            }
        }
        ExportRows::Journal(lines) => {
            push_line(
                &mut out,
                &[
                    "created_at",
                    "entry_id",
                    "kind",
                    "reason",
                    "account",
                    "coin",
                    "debit",
                    "credit",
                ],
            );
            for line in lines {
                let (value, coin) = amount(registry, &line.coin_id, line.amount);
                let (debit, credit) = match line.direction {
                    Direction::Debit => (value, String::new()),
                    Direction::Credit => (String::new(), value),
                };
                push_line(
                    &mut out,
                    &[
                        line.created_at.to_string(),
                        line.entry_id.to_string(),
                        line.kind.clone(),
                        line.reason.clone(),
                        line.account.clone(),
                        coin,
                        debit,
                        credit,
                    ],
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{field, push_line};

    #[test]
    fn plain_fields_stay_as_they_are() {
        assert_eq!(field("order-1"), "order-1");
        assert_eq!(field("12.345678"), "12.345678");
        assert_eq!(field(""), "");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_and_quotes_doubled() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(field(" padded "), "\" padded \"");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            field("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        assert_eq!(field("a=1"), "a=1");
    }

    #[test]
    fn records_end_in_crlf() {
        let mut out = String::new();
        push_line(&mut out, &["a", "b,c", ""]);
        push_line(&mut out, &["d"]);
        assert_eq!(out, "a,\"b,c\",\r\nd\r\n");
    }
}
