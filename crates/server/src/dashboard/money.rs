//! A merchant's money pages (decisions §31): its withdrawals (list, one,
//! and a new one: the form, its fee quote, its confirmation with the
//! second factor), an order's refund, and a user's permanent addresses
//! with their deposits.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use ccgate_engine::console::{
    AddressesPage, SecondFactor, Viewer, WithdrawalDraft, WithdrawalQuote, WithdrawalsPage,
    console_order_id,
};
use ccgate_engine::domain::{MerchantSummary, WebhookAttempt, WebhookRow, Withdrawal};
use ccgate_ledger::{Amount, CoinId, Registry};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{
    csrf_field, layout, merchant_path, merchant_tabs, url_segment, utc, webhook_rows,
};
use super::settings::code_input;
use super::{PageResult, Posted, SETTINGS_PATH, SignedIn, page, see_other, visit_of};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/m/{app_id}/withdrawals",
            get(withdrawals).post(withdraw),
        )
        .route("/dashboard/m/{app_id}/withdrawals/new", get(new_withdrawal))
        .route("/dashboard/m/{app_id}/withdrawals/quote", post(quote))
        .route(
            "/dashboard/m/{app_id}/withdrawals/{record_id}",
            get(withdrawal),
        )
        .route(
            "/dashboard/m/{app_id}/orders/{merchant_order_id}/refund",
            post(refund),
        )
        .route("/dashboard/m/{app_id}/addresses", get(addresses))
}

/// `amount` of `coin` with its symbol; base units for a coin no longer listed.
fn coin_amount(registry: &Registry, coin: &CoinId, amount: Amount) -> String {
    match registry.coin(coin) {
        Some(known) => format!(
            "{} {}",
            amount.to_decimal_string(known.precision),
            known.symbol
        ),
        None => format!("{} base units", amount.base_units()),
    }
}

#[derive(Deserialize)]
struct PageQuery {
    after_at: Option<i64>,
    #[serde(default)]
    after_id: String,
}

/// `GET /dashboard/m/{app_id}/withdrawals`: newest first.
async fn withdrawals(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<PageQuery>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let after = query.after_at.map(|at| (at, query.after_id));
    let listed = state
        .console
        .withdrawals(&viewer, &app_id, &state.records, after)
        .await?;
    Ok(page(
        StatusCode::OK,
        withdrawals_page(&viewer, &listed, &state.registry),
    ))
}

/// `GET /dashboard/m/{app_id}/withdrawals/{record_id}`.
async fn withdrawal(
    State(state): State<AppState>,
    Path((app_id, record_id)): Path<(String, String)>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let (merchant, withdrawal, webhooks) = state
        .console
        .withdrawal(&viewer, &app_id, &record_id, &state.records)
        .await?;
    Ok(page(
        StatusCode::OK,
        withdrawal_page(&viewer, &merchant, &withdrawal, &webhooks, &state.registry),
    ))
}

/// `GET /dashboard/m/{app_id}/withdrawals/new`: the form, with a new order
/// id that makes its posts one withdrawal.
async fn new_withdrawal(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let merchant = state.console.merchant(&viewer, &app_id).await?;
    let factor = state.console.second_factor(&viewer).await?;
    Ok(page(
        StatusCode::OK,
        new_withdrawal_page(&viewer, &merchant, factor, &state.registry),
    ))
}

/// The withdrawal form's fields.
#[derive(Deserialize)]
struct WithdrawalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token_id: String,
    /// `chain` or `cwallet`.
    #[serde(default)]
    to: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    memo: String,
    #[serde(default)]
    merchant_order_id: String,
    #[serde(default)]
    fee_quote_id: String,
    #[serde(default)]
    code: String,
}

csrf_form!(WithdrawalForm);

impl WithdrawalForm {
    fn draft(&self) -> WithdrawalDraft {
        WithdrawalDraft {
            token_id: self.token_id.clone(),
            to_cwallet: self.to == "cwallet",
            destination: self.destination.clone(),
            amount: self.amount.clone(),
            memo: self.memo.clone(),
            merchant_order_id: self.merchant_order_id.clone(),
            fee_quote_id: Some(self.fee_quote_id.trim().to_owned()).filter(|id| !id.is_empty()),
        }
    }
}

/// `POST /dashboard/m/{app_id}/withdrawals/quote`: the fee quoted, and the
/// form to confirm with the second factor.
async fn quote(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, form, .. }: Posted<WithdrawalForm>,
) -> PageResult {
    let draft = form.draft();
    let (merchant, quote) = state
        .console
        .quote_withdrawal(
            &viewer,
            &app_id,
            &draft,
            &state.registry,
            &state.withdrawals,
            state.clock.now_unix_ms(),
        )
        .await?;
    let factor = state.console.second_factor(&viewer).await?;
    Ok(page(
        StatusCode::OK,
        confirm_page(&viewer, &merchant, &form, &quote, factor),
    ))
}

/// `POST /dashboard/m/{app_id}/withdrawals`: made (or found again); on to
/// its page.
async fn withdraw(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<WithdrawalForm>,
) -> PageResult {
    let made = state
        .console
        .withdraw(
            &viewer,
            &app_id,
            &form.draft(),
            &form.code,
            &state.registry,
            &state.withdrawals,
            &state.records,
            visit_of(&ip),
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(see_other(&merchant_path(
        &app_id,
        &format!("/withdrawals/{}", made.record_id),
    )))
}

#[derive(Deserialize)]
struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    code: String,
}

csrf_form!(RefundForm);

/// `POST /dashboard/m/{app_id}/orders/{merchant_order_id}/refund`: back to
/// the order, which lists it.
async fn refund(
    State(state): State<AppState>,
    Path((app_id, merchant_order_id)): Path<(String, String)>,
    Posted { viewer, ip, form }: Posted<RefundForm>,
) -> PageResult {
    state
        .console
        .refund(
            &viewer,
            &app_id,
            &merchant_order_id,
            &form.address,
            &form.amount,
            &form.code,
            &state.withdrawals,
            visit_of(&ip),
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(see_other(&merchant_path(
        &app_id,
        &format!("/orders/{}", url_segment(&merchant_order_id)),
    )))
}

#[derive(Deserialize)]
struct UserQuery {
    #[serde(default)]
    user_id: String,
}

/// `GET /dashboard/m/{app_id}/addresses?user_id=`.
async fn addresses(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<UserQuery>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let found = state
        .console
        .user_addresses(&viewer, &app_id, &query.user_id, &state.records)
        .await?;
    Ok(page(
        StatusCode::OK,
        addresses_page(&viewer, &found, &state.registry),
    ))
}

fn withdrawals_page(viewer: &Viewer, page: &WithdrawalsPage, registry: &Registry) -> Markup {
    let merchant = &page.merchant;
    let app_id = merchant.app_id.as_str();
    layout(
        "Withdrawals",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": withdrawals" }
                (merchant_tabs(merchant))
                p { a.primary-link href=(merchant_path(app_id, "/withdrawals/new")) { "New withdrawal" } }
                @if page.withdrawals.is_empty() {
                    p { "No withdrawals yet." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Withdrawals" {
                        table {
                            thead { tr { th { "Created" } th { "Amount" } th { "Network fee" } th { "To" } th { "Status" } th { "Txid" } } }
                            tbody {
                                @for withdrawal in &page.withdrawals {
                                    tr {
                                        td { a href=(merchant_path(app_id, &format!("/withdrawals/{}", withdrawal.record_id))) { (utc(withdrawal.created_at.saturating_mul(1000))) } }
                                        td { (coin_amount(registry, &withdrawal.coin_id, withdrawal.value)) }
                                        td { (coin_amount(registry, &withdrawal.coin_id, withdrawal.network_fee)) }
                                        td.id { (withdrawal.to_address) }
                                        td { (withdrawal.status.as_str()) }
                                        td.id { (withdrawal.txid) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some((at, id)) = &page.older {
                    p { a href={ (merchant_path(app_id, "/withdrawals")) "?after_at=" (at) "&after_id=" (url_segment(id)) } { "Older withdrawals" } }
                }
            }
        },
    )
}

fn withdrawal_page(
    viewer: &Viewer,
    merchant: &MerchantSummary,
    withdrawal: &Withdrawal,
    webhooks: &[(WebhookRow, Vec<WebhookAttempt>)],
    registry: &Registry,
) -> Markup {
    let coin = &withdrawal.coin_id;
    let title = if withdrawal.is_refund() {
        "Refund"
    } else {
        "Withdrawal"
    };
    layout(
        title,
        Some(viewer),
        html! {
            main {
                h1 { (title) " " (withdrawal.record_id) }
                (merchant_tabs(merchant))
                dl.once {
                    dt { "Status" } dd #withdrawal-status { (withdrawal.status.as_str()) }
                    dt { "Amount" } dd #withdrawal-amount { (coin_amount(registry, coin, withdrawal.value)) }
                    dt { "Network fee" } dd { (coin_amount(registry, coin, withdrawal.network_fee)) }
                    dt { "Payee receives" } dd { (coin_amount(registry, coin, withdrawal.net_receivable)) }
                    dt { "Debited" } dd { (coin_amount(registry, coin, withdrawal.debit)) }
                    dt { "To" } dd { (withdrawal.to_address) @if withdrawal.to_cwallet { " (Cwallet id)" } }
                    @if !withdrawal.memo.is_empty() { dt { "Memo" } dd { (withdrawal.memo) } }
                    dt { "Chain" } dd { (withdrawal.chain) }
                    dt { "Txid" } dd #withdrawal-txid { (withdrawal.txid) }
                    @if let Some(height) = withdrawal.block_height { dt { "Block" } dd { (height) } }
                    dt { "Merchant order id" } dd { (withdrawal.merchant_order_id) }
                    dt { "Approval" } dd { (withdrawal.approval.as_str()) }
                    dt { "Created" } dd { (utc(withdrawal.created_at.saturating_mul(1000))) }
                    @if let Some(at) = withdrawal.resolved_at { dt { "Resolved" } dd { (utc(at.saturating_mul(1000))) } }
                }
                h2 { "Webhooks" }
                (webhook_rows(merchant.app_id.as_str(), webhooks))
            }
        },
    )
}

/// Why money cannot leave yet, and where to mend it.
fn second_factor_needed(factor: SecondFactor) -> Markup {
    html! {
        @if factor != SecondFactor::On {
            p.problem role="alert" {
                "Withdrawals need your second factor: "
                a href=(SETTINGS_PATH) { "set one up in your settings" } " first."
            }
        }
    }
}

fn new_withdrawal_page(
    viewer: &Viewer,
    merchant: &MerchantSummary,
    factor: SecondFactor,
    registry: &Registry,
) -> Markup {
    let app_id = merchant.app_id.as_str();
    layout(
        "New withdrawal",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": new withdrawal" }
                (merchant_tabs(merchant))
                (second_factor_needed(factor))
                form method="post" action=(merchant_path(app_id, "/withdrawals/quote")) {
                    (csrf_field(viewer))
                    input type="hidden" name="merchant_order_id" value=(console_order_id());
                    label for="token_id" { "Coin and network" }
                    select #token_id name="token_id" required {
                        @for coin in registry.coins() {
                            @for token in &coin.tokens {
                                option value=(token.id.as_str()) { (coin.symbol) " on " (token.chain.as_str()) }
                            }
                        }
                    }
                    label for="to" { "To" }
                    select #to name="to" {
                        option value="chain" { "A chain address" }
                        option value="cwallet" { "A Cwallet id (free and instant)" }
                    }
                    label for="destination" { "Address or Cwallet id" }
                    input #destination type="text" name="destination" required autocomplete="off";
                    label for="amount" { "Amount (the payee receives it less the network fee)" }
                    input #amount type="text" name="amount" inputmode="decimal" required;
                    label for="memo" { "Memo (for chains that need one)" }
                    input #memo type="text" name="memo";
                    button.primary type="submit" { "Quote the fee" }
                }
            }
        },
    )
}

fn confirm_page(
    viewer: &Viewer,
    merchant: &MerchantSummary,
    form: &WithdrawalForm,
    quote: &WithdrawalQuote<'_>,
    factor: SecondFactor,
) -> Markup {
    let app_id = merchant.app_id.as_str();
    let coin = quote.coin;
    let shown = |amount: Amount| {
        format!(
            "{} {}",
            amount.to_decimal_string(coin.precision),
            coin.symbol
        )
    };
    layout(
        "Confirm the withdrawal",
        Some(viewer),
        html! {
            main {
                h1 { "Confirm the withdrawal" }
                (merchant_tabs(merchant))
                dl.once {
                    dt { "Coin" } dd { (coin.symbol) " on " (quote.token.chain.as_str()) }
                    dt { "To" } dd { (form.destination.trim()) @if form.to == "cwallet" { " (Cwallet id)" } }
                    dt { "Amount" } dd { (shown(quote.amount)) }
                    dt { "Network fee" } dd #quoted-fee { (shown(quote.fee)) }
                    dt { "Payee receives" } dd #quoted-receives { (shown(quote.receives)) }
                }
                (second_factor_needed(factor))
                form method="post" action=(merchant_path(app_id, "/withdrawals")) {
                    (csrf_field(viewer))
                    input type="hidden" name="merchant_order_id" value=(form.merchant_order_id);
                    input type="hidden" name="token_id" value=(form.token_id);
                    input type="hidden" name="to" value=(form.to);
                    input type="hidden" name="destination" value=(form.destination);
                    input type="hidden" name="amount" value=(form.amount);
                    input type="hidden" name="memo" value=(form.memo);
                    input type="hidden" name="fee_quote_id" value=(quote.fee_quote_id.as_deref().unwrap_or(""));
                    (code_input("withdrawal-code"))
                    button.primary type="submit" { "Confirm the withdrawal" }
                }
            }
        },
    )
}

fn addresses_page(viewer: &Viewer, page: &AddressesPage, registry: &Registry) -> Markup {
    let merchant = &page.merchant;
    let app_id = merchant.app_id.as_str();
    layout(
        "Addresses",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": permanent addresses" }
                (merchant_tabs(merchant))
                form.inline method="get" action=(merchant_path(app_id, "/addresses")) {
                    label for="user_id" { "User id" }
                    input #user_id type="text" name="user_id" value=(page.user_id) required;
                    button.secondary type="submit" { "Show" }
                }
                @if !page.user_id.is_empty() {
                    h2 { "Addresses of " (page.user_id) }
                    @if page.addresses.is_empty() {
                        p { "No permanent address for this user." }
                    } @else {
                        div.table tabindex="0" role="region" aria-label="Addresses" {
                            table {
                                thead { tr { th { "Chain" } th { "Address" } } }
                                tbody {
                                    @for address in &page.addresses {
                                        tr { td { (address.chain) } td.id { (address.address) } }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Deposits" }
                    @if page.deposits.is_empty() {
                        p { "No deposits yet." }
                    } @else {
                        div.table tabindex="0" role="region" aria-label="Deposits" {
                            table {
                                thead { tr { th { "Credited" } th { "Amount" } th { "Chain" } th { "To" } th { "Txid" } } }
                                tbody {
                                    @for deposit in &page.deposits {
                                        tr {
                                            td { (utc(deposit.credited_at.saturating_mul(1000))) }
                                            td { (coin_amount(registry, &deposit.coin_id, deposit.amount)) }
                                            td { (deposit.chain) }
                                            td.id { (deposit.to_address) }
                                            td.id { (deposit.txid) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
