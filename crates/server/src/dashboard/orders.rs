//! The orders page's search form (decisions §31): what it sends, read into
//! the engine's `OrderQuery`, and the link to the next page, which carries
//! the same search and the key of the last order shown.

use ccgate_engine::console::{ExportKind, OrderQuery, OrdersPage, Viewer};
use ccgate_engine::orders::OrderStatus;
use ccgate_ledger::{CoinId, Registry};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{layout, merchant_path, merchant_tabs, order_amount, url_segment, utc};
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
            .map(|(name, value)| format!("{name}={}", url_segment(value)))
            .collect();
        query.push(format!("after_at={created_at}"));
        query.push(format!("after_id={}", url_segment(order_id)));
        format!("?{}", query.join("&"))
    }
}

/// The orders page: the search form, a page of orders, the CSV export.
pub fn orders_page(
    viewer: &Viewer,
    page: &OrdersPage,
    form: &OrdersForm,
    registry: &Registry,
) -> Markup {
    let merchant = &page.merchant;
    let app_id = merchant.app_id.as_str();
    let mut chains: Vec<&str> = registry
        .coins()
        .flat_map(|coin| coin.tokens.iter().map(|token| token.chain.as_str()))
        .collect();
    chains.sort_unstable();
    chains.dedup();
    layout(
        "Orders",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": orders" }
                (merchant_tabs(merchant))
                form.search method="get" action=(merchant_path(app_id, "/orders")) aria-label="Search orders" {
                    div {
                        label for="state" { "State" }
                        select #state name="state" {
                            option value="" selected[form.state.is_empty()] { "All" }
                            @for state in ORDER_STATES {
                                option value=(state.as_str()) selected[form.state == state.as_str()] { (state.as_str()) }
                            }
                        }
                    }
                    div {
                        label for="coin" { "Coin" }
                        select #coin name="coin" {
                            option value="" selected[form.coin.is_empty()] { "All" }
                            @for coin in registry.coins() {
                                option value=(coin.id.as_str()) selected[form.coin == coin.id.as_str()] { (coin.symbol) }
                            }
                        }
                    }
                    div {
                        label for="chain" { "Chain" }
                        select #chain name="chain" {
                            option value="" selected[form.chain.is_empty()] { "All" }
                            @for chain in &chains {
                                option value=(chain) selected[form.chain == *chain] { (chain) }
                            }
                        }
                    }
                    div {
                        label for="orders-from" { "Created from (UTC day)" }
                        input #orders-from type="date" name="from" value=(form.from);
                    }
                    div {
                        label for="orders-to" { "Created to (included)" }
                        input #orders-to type="date" name="to" value=(form.to);
                    }
                    div {
                        label for="merchant_order_id" { "Merchant order id" }
                        input #merchant_order_id type="text" name="merchant_order_id" value=(form.merchant_order_id);
                    }
                    div {
                        label for="payer" { "Payer address" }
                        input #payer type="text" name="payer" value=(form.payer);
                    }
                    div {
                        label for="txid" { "Txid" }
                        input #txid type="text" name="txid" value=(form.txid);
                    }
                    div { button.secondary type="submit" { "Search" } }
                }
                @if page.orders.is_empty() {
                    p { "No orders here." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Orders" {
                        table {
                            thead { tr { th { "Created" } th { "Merchant order id" } th { "Amount" } th { "Chain" } th { "State" } } }
                            tbody {
                                @for (order, state) in &page.orders {
                                    tr {
                                        td { (utc(order.created_at.saturating_mul(1000))) }
                                        td.id { a href=(merchant_path(app_id, &format!("/orders/{}", url_segment(&order.merchant_order_id)))) { (order.merchant_order_id) } }
                                        td { (order_amount(registry, order, order.order_amount)) }
                                        td { (order.chain) }
                                        td { (state.progress.status.as_str()) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(after) = &page.older {
                    p { a #older-orders href={ (merchant_path(app_id, "/orders")) (form.next_page(after)) } { "Older orders" } }
                }
                h2 { "Export as CSV" }
                form.inline method="get" action=(merchant_path(app_id, "/export")) {
                    label for="kind" { "What" }
                    select #kind name="kind" {
                        @for kind in ExportKind::ALL {
                            option value=(kind.as_str()) { (kind.as_str()) }
                        }
                    }
                    label for="from" { "From (UTC day)" }
                    input #from type="date" name="from" required;
                    label for="to" { "To (included)" }
                    input #to type="date" name="to" required;
                    button.secondary type="submit" { "Download" }
                }
            }
        },
    )
}
