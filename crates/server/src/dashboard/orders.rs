//! The orders page's search form (decisions §31): what it sends, read into
//! the engine's `OrderQuery`, and the link to the next page, which carries
//! the same search and the key of the last order shown.

use ccgate_engine::console::OrderQuery;
use ccgate_engine::orders::OrderStatus;
use ccgate_ledger::{CoinId, Registry};
use serde::Deserialize;

use super::{PageError, day, invalid, start_of};

/// The states an order's list can be narrowed to.
pub const ORDER_STATES: [OrderStatus; 4] = [
    OrderStatus::Pending,
    OrderStatus::Processing,
    OrderStatus::Successful,
    OrderStatus::Expired,
];

/// `GET …/orders`'s query: every field optional, empty means any.
#[derive(Debug, Default, Deserialize)]
pub struct OrdersForm {
    #[serde(default)]
    pub state: String,
    /// First day created, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    pub from: String,
    /// Last day created, included.
    #[serde(default)]
    pub to: String,
    /// A coin id.
    #[serde(default)]
    pub coin: String,
    #[serde(default)]
    pub chain: String,
    #[serde(default)]
    pub merchant_order_id: String,
    #[serde(default)]
    pub payer: String,
    #[serde(default)]
    pub txid: String,
    /// The next page: after the order created at `after_at` (unix seconds)
    /// with order id `after_id`.
    pub after_at: Option<i64>,
    #[serde(default)]
    pub after_id: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

impl OrdersForm {
    pub fn query(&self, registry: &Registry) -> Result<OrderQuery, PageError> {
        const DAY_SECS: i64 = 24 * 60 * 60;
        let state = match given(&self.state) {
            None => None,
            Some(named) => Some(
                ORDER_STATES
                    .into_iter()
                    .find(|state| state.as_str() == named)
                    .ok_or_else(|| {
                        invalid("the state is one of Pending, Processing, Successful, Expired")
                    })?,
            ),
        };
        let coin_id = match given(&self.coin) {
            None => None,
            Some(id) => Some(
                registry
                    .coin(&CoinId::new(&id))
                    .map(|coin| coin.id.clone())
                    .ok_or_else(|| invalid("choose a coin from the list"))?,
            ),
        };
        Ok(OrderQuery {
            state,
            since: given(&self.from)
                .map(|text| day(&text, "first").map(start_of))
                .transpose()?,
            until: given(&self.to)
                .map(|text| day(&text, "last").map(|last| start_of(last) + DAY_SECS))
                .transpose()?,
            coin_id,
            chain: given(&self.chain),
            merchant_order_id: given(&self.merchant_order_id),
            payer_address: given(&self.payer),
            txid: given(&self.txid),
            after: self.after_at.map(|at| (at, self.after_id.clone())),
        })
    }

    /// The query string of the page after `(created_at, order_id)`, with
    /// this search.
    pub fn next_page(&self, (created_at, order_id): &(i64, String)) -> String {
        let fields = [
            ("state", self.state.as_str()),
            ("from", &self.from),
            ("to", &self.to),
            ("coin", &self.coin),
            ("chain", &self.chain),
            ("merchant_order_id", &self.merchant_order_id),
            ("payer", &self.payer),
            ("txid", &self.txid),
        ];
        let mut query: Vec<String> = fields
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", super::pages::url_segment(value)))
            .collect();
        query.push(format!("after_at={created_at}"));
        query.push(format!("after_id={}", super::pages::url_segment(order_id)));
        format!("?{}", query.join("&"))
    }
}
