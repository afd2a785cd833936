//! A merchant's v2 wallet system on the dashboard (issue #19 item 6,
//! decisions §30): its wallet users with their balances, one user's
//! deposits, transfers, swaps and withdrawals, the merchant's swaps, and its batch
//! withdrawals with their tasks. Every page is a `Console` call that takes
//! the viewer; the lists are pages that link on from their last row.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use ccgate_engine::batch_withdrawals::BatchView;
use ccgate_engine::console::{
    BatchesPage, SwapsOf, SwapsPage, UserPageCursors, Viewer, WalletUserPage, WalletUsersPage,
};
use ccgate_engine::domain::{MerchantSummary, Swap};
use ccgate_ledger::{Amount, CoinId, Registry};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{layout, merchant_path, merchant_tabs, url_segment, utc};
use super::{PageResult, SignedIn, page};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/m/{app_id}/wallet-users", get(users))
        .route("/dashboard/m/{app_id}/wallet-users/{user_id}", get(user))
        .route("/dashboard/m/{app_id}/swaps", get(swaps))
        .route("/dashboard/m/{app_id}/batch-withdrawals", get(batches))
        .route(
            "/dashboard/m/{app_id}/batch-withdrawals/{batch_order_id}",
            get(batch),
        )
}

#[derive(Deserialize)]
struct AfterUser {
    after: Option<String>,
}

/// `GET /dashboard/m/{app_id}/wallet-users?after=`: in user id order.
async fn users(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<AfterUser>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let listed = state
        .console
        .wallet_users(&viewer, &app_id, &state.wallets, query.after.as_deref())
        .await?;
    Ok(page(StatusCode::OK, users_page(&viewer, &listed)))
}

/// Where each list of a user's page starts.
#[derive(Deserialize)]
struct UserQuery {
    deposits_before: Option<String>,
    transfers_before: Option<String>,
    swaps_after_at: Option<i64>,
    swaps_after_id: Option<String>,
    withdrawals_after_at: Option<i64>,
    withdrawals_after_id: Option<String>,
}

/// `GET /dashboard/m/{app_id}/wallet-users/{user_id}`.
async fn user(
    State(state): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
    Query(query): Query<UserQuery>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let cursors = UserPageCursors {
        deposits_before: query.deposits_before,
        transfers_before: query.transfers_before,
        swaps_after: query.swaps_after_at.zip(query.swaps_after_id),
        withdrawals_after: query.withdrawals_after_at.zip(query.withdrawals_after_id),
    };
    let shown = state
        .console
        .wallet_user(
            &viewer,
            &app_id,
            &user_id,
            (&state.wallets, &state.swaps),
            &cursors,
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        user_page(&viewer, &shown, &state.registry),
    ))
}

/// A page after a record: its time and id.
#[derive(Deserialize)]
struct AfterRecord {
    /// `users`: the merchant's users' swaps instead of its own.
    of: Option<String>,
    after_at: Option<i64>,
    after_id: Option<String>,
}

/// `GET /dashboard/m/{app_id}/swaps?of=users&after_at=&after_id=`.
async fn swaps(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<AfterRecord>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let of = match query.of.as_deref() {
        Some("users") => SwapsOf::Users,
        _ => SwapsOf::Merchant,
    };
    let listed = state
        .console
        .swaps(
            &viewer,
            &app_id,
            &state.swaps,
            of,
            query.after_at.zip(query.after_id),
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        swaps_page(&viewer, &listed, of, &state.registry),
    ))
}

/// `GET /dashboard/m/{app_id}/batch-withdrawals?after_at=&after_id=`.
async fn batches(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<AfterRecord>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let after = query.after_at.zip(query.after_id.as_deref());
    let listed = state
        .console
        .batch_withdrawals(
            &viewer,
            &app_id,
            &state.batch_withdrawals,
            after,
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(page(StatusCode::OK, batches_page(&viewer, &listed)))
}

/// `GET /dashboard/m/{app_id}/batch-withdrawals/{batch_order_id}`.
async fn batch(
    State(state): State<AppState>,
    Path((app_id, batch_order_id)): Path<(String, String)>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let (merchant, view) = state
        .console
        .batch_withdrawal(
            &viewer,
            &app_id,
            &batch_order_id,
            &state.batch_withdrawals,
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(page(StatusCode::OK, batch_page(&viewer, &merchant, &view)))
}

/// `amount` of coin `coin_id` with its symbol.
fn coin_amount(registry: &Registry, coin_id: &CoinId, amount: Amount) -> String {
    match registry.coin(coin_id) {
        Some(coin) => format!(
            "{} {}",
            amount.to_decimal_string(coin.precision),
            coin.symbol
        ),
        None => format!("{} base units of {coin_id}", amount.base_units()),
    }
}

/// The link to the next page, when there is one.
fn next_link(href: Option<String>, label: &str) -> Markup {
    html! {
        @if let Some(href) = href {
            p { a href=(href) { (label) } }
        }
    }
}

fn users_page(viewer: &Viewer, listed: &WalletUsersPage<'_>) -> Markup {
    let merchant = &listed.merchant;
    let app_id = merchant.app_id.as_str();
    layout(
        "Wallet users",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": wallet users" }
                (merchant_tabs(merchant))
                p.muted { "The merchant's own users of the v2 wallet system, with what each holds. Their funds are part of the merchant's custody, not of its own balance." }
                @if listed.users.is_empty() {
                    p { "No wallet users yet." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Wallet users" {
                        table {
                            thead { tr { th { "User id" } th { "Since" } th { "Balances" } } }
                            tbody {
                                @for (user, balances) in &listed.users {
                                    tr {
                                        td.id { a href=(merchant_path(app_id, &format!("/wallet-users/{}", url_segment(&user.user_id)))) { (user.user_id) } }
                                        td { (utc(user.created_at.saturating_mul(1000))) }
                                        td {
                                            @if balances.is_empty() { span.muted { "none" } }
                                            @for (coin, amount) in balances {
                                                span.chip { (amount.to_decimal_string(coin.precision)) " " (coin.symbol) }
                                                " "
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                (next_link(
                    listed.next_after.as_ref().map(|after| format!("{}?after={}", merchant_path(app_id, "/wallet-users"), url_segment(after))),
                    "More users",
                ))
            }
        },
    )
}

fn user_page(viewer: &Viewer, shown: &WalletUserPage<'_>, registry: &Registry) -> Markup {
    let merchant = &shown.merchant;
    let app_id = merchant.app_id.as_str();
    let here = merchant_path(
        app_id,
        &format!("/wallet-users/{}", url_segment(&shown.user_id)),
    );
    layout(
        "Wallet user",
        Some(viewer),
        html! {
            main {
                h1 { "Wallet user " (shown.user_id) }
                (merchant_tabs(merchant))
                h2 { "Balances" }
                @if shown.balances.is_empty() {
                    p { "Nothing held." }
                } @else {
                    ul #user-balances {
                        @for (coin, amount) in &shown.balances {
                            li { (amount.to_decimal_string(coin.precision)) " " (coin.symbol) }
                        }
                    }
                }
                h2 { "Deposits" }
                @if shown.deposits.is_empty() {
                    p { "No deposits here." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Deposits" {
                        table {
                            thead { tr { th { "Credited" } th { "Amount" } th { "Fee" } th { "Chain" } th { "Txid" } } }
                            tbody {
                                @for deposit in &shown.deposits {
                                    tr {
                                        td { (utc(deposit.credited_at.saturating_mul(1000))) }
                                        td { (coin_amount(registry, &deposit.coin_id, deposit.amount)) }
                                        td { (coin_amount(registry, &deposit.coin_id, deposit.service_fee)) }
                                        td { (deposit.chain) }
                                        td.id { (deposit.txid) }
                                    }
                                }
                            }
                        }
                    }
                }
                (next_link(
                    shown.next.deposits_before.as_ref().map(|before| format!("{here}?deposits_before={}", url_segment(before))),
                    "Older deposits",
                ))
                h2 { "Transfers" }
                @if shown.transfers.is_empty() {
                    p { "No transfers here." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Transfers" {
                        table {
                            thead { tr { th { "Made" } th { "From" } th { "To" } th { "Amount" } th { "Order id" } } }
                            tbody {
                                @for transfer in &shown.transfers {
                                    tr {
                                        td { (utc(transfer.created_at.saturating_mul(1000))) }
                                        td.id { (holder(app_id, &transfer.from_user)) }
                                        td.id { (holder(app_id, &transfer.to_user)) }
                                        td { (coin_amount(registry, &transfer.coin_id, transfer.amount)) }
                                        td.id { (transfer.order_id) }
                                    }
                                }
                            }
                        }
                    }
                }
                (next_link(
                    shown.next.transfers_before.as_ref().map(|before| format!("{here}?transfers_before={}", url_segment(before))),
                    "Older transfers",
                ))
                h2 { "Swaps" }
                (swaps_table(&shown.swaps, registry, false))
                (next_link(
                    shown.next.swaps_after.as_ref().map(|(at, id)| format!("{here}?swaps_after_at={at}&swaps_after_id={}", url_segment(id))),
                    "Older swaps",
                ))
                h2 { "Withdrawals" }
                @if shown.withdrawals.is_empty() {
                    p { "No withdrawals here." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Withdrawals" {
                        table {
                            thead { tr { th { "Created" } th { "Amount" } th { "Network fee" } th { "To" } th { "Status" } th { "Order id" } } }
                            tbody {
                                @for withdrawal in &shown.withdrawals {
                                    tr {
                                        td { (utc(withdrawal.created_at.saturating_mul(1000))) }
                                        td { (coin_amount(registry, &withdrawal.coin_id, withdrawal.value)) }
                                        td { (coin_amount(registry, &withdrawal.coin_id, withdrawal.network_fee)) }
                                        td.id {
                                            @if withdrawal.to_cwallet { "Cwallet " }
                                            (withdrawal.to_address)
                                        }
                                        td { (withdrawal.status.as_str()) }
                                        td.id { (withdrawal.merchant_order_id) }
                                    }
                                }
                            }
                        }
                    }
                }
                (next_link(
                    shown.next.withdrawals_after.as_ref().map(|(at, id)| format!("{here}?withdrawals_after_at={at}&withdrawals_after_id={}", url_segment(id))),
                    "Older withdrawals",
                ))
            }
        },
    )
}

/// A transfer's side: a user, or the merchant under its App ID.
fn holder(app_id: &str, user_id: &str) -> String {
    if user_id == app_id {
        "the merchant".to_owned()
    } else {
        user_id.to_owned()
    }
}

fn swaps_table(swaps: &[Swap], registry: &Registry, with_user: bool) -> Markup {
    html! {
        @if swaps.is_empty() {
            p { "No swaps here." }
        } @else {
            div.table tabindex="0" role="region" aria-label="Swaps" {
                table {
                    thead { tr {
                        th { "Made" }
                        @if with_user { th { "User" } }
                        th { "Paid" } th { "Received" } th { "Fee" } th { "Order id" }
                    } }
                    tbody {
                        @for swap in swaps {
                            @let terms = &swap.terms;
                            tr {
                                td { (utc(swap.created_at.saturating_mul(1000))) }
                                @if with_user { td.id { (swap.user_id.as_deref().unwrap_or("")) } }
                                td { (coin_amount(registry, &terms.coin_in, terms.amount_in)) }
                                td { (terms.net_out().map_or_else(|_| "?".to_owned(), |net| coin_amount(registry, &terms.coin_out, net))) }
                                td { (coin_amount(registry, &terms.coin_out, terms.fee.checked_add(terms.extra_fee).unwrap_or(terms.fee))) }
                                td.id { (swap.merchant_order_id) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn swaps_page(viewer: &Viewer, listed: &SwapsPage, of: SwapsOf, registry: &Registry) -> Markup {
    let merchant = &listed.merchant;
    let app_id = merchant.app_id.as_str();
    let base = merchant_path(app_id, "/swaps");
    let (title, other, other_label, of_param) = match of {
        SwapsOf::Merchant => ("swaps", format!("{base}?of=users"), "Its users' swaps", ""),
        SwapsOf::Users => ("users' swaps", base.clone(), "Its own swaps", "of=users&"),
    };
    layout(
        "Swaps",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": " (title) }
                (merchant_tabs(merchant))
                p { a href=(other) { (other_label) } }
                (swaps_table(&listed.swaps, registry, of == SwapsOf::Users))
                (next_link(
                    listed.next_after.as_ref().map(|(at, id)| format!("{base}?{of_param}after_at={at}&after_id={}", url_segment(id))),
                    "Older swaps",
                ))
            }
        },
    )
}

fn batches_page(viewer: &Viewer, listed: &BatchesPage<'_>) -> Markup {
    let merchant = &listed.merchant;
    let app_id = merchant.app_id.as_str();
    let base = merchant_path(app_id, "/batch-withdrawals");
    layout(
        "Batch withdrawals",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": batch withdrawals" }
                (merchant_tabs(merchant))
                @if listed.batches.is_empty() {
                    p { "No batch withdrawals yet." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Batch withdrawals" {
                        table {
                            thead { tr { th { "Created" } th { "Batch order id" } th { "Name" } th { "Amount" } th { "Tasks" } th { "Status" } } }
                            tbody {
                                @for view in &listed.batches {
                                    tr {
                                        td { (utc(view.batch.created_at.saturating_mul(1000))) }
                                        td.id { a href=(format!("{base}/{}", url_segment(&view.batch.batch_order_id))) { (view.batch.batch_order_id) } }
                                        td { (view.batch.task_name) }
                                        td { (view.amount.to_decimal_string(view.coin.precision)) " " (view.coin.symbol) }
                                        td { (view.stats.total) }
                                        td { (view.status.as_str()) }
                                    }
                                }
                            }
                        }
                    }
                }
                (next_link(
                    listed.next_after.as_ref().map(|(at, id)| format!("{base}?after_at={at}&after_id={}", url_segment(id))),
                    "Older batches",
                ))
            }
        },
    )
}

fn batch_page(viewer: &Viewer, merchant: &MerchantSummary, view: &BatchView<'_>) -> Markup {
    let coin = view.coin;
    let show = |amount: Amount| {
        format!(
            "{} {}",
            amount.to_decimal_string(coin.precision),
            coin.symbol
        )
    };
    let batch = &view.batch;
    let stats = &view.stats;
    layout(
        "Batch withdrawal",
        Some(viewer),
        html! {
            main {
                h1 { "Batch " (batch.batch_order_id) }
                (merchant_tabs(merchant))
                dl.once {
                    dt { "Status" } dd #batch-status { (view.status.as_str()) }
                    dt { "Name" } dd { (batch.task_name) }
                    dt { "Bill id" } dd { (batch.bill_id) }
                    dt { "Amount" } dd { (show(view.amount)) }
                    dt { "Network fees" } dd { (show(view.network_fee)) }
                    dt { "Tasks" } dd { (stats.total) " (" (stats.succeeded) " succeeded, " (stats.failed) " failed, " (stats.processing) " processing)" }
                    dt { "Created" } dd { (utc(batch.created_at.saturating_mul(1000))) }
                    dt { "Confirmed" } dd { @match batch.confirmed_at { Some(at) => (utc(at.saturating_mul(1000))), None => "not yet" } }
                }
                h2 { "Tasks" }
                div.table tabindex="0" role="region" aria-label="Tasks" {
                    table {
                        thead { tr { th { "#" } th { "Withdrawal order id" } th { "Address" } th { "Amount" } th { "Status" } th { "Txid or reason" } } }
                        tbody {
                            @for task in &view.tasks {
                                @let state = &task.state;
                                tr {
                                    td { (state.task.position) }
                                    td.id { (state.task.withdrawal_order_id) }
                                    td.id { (state.task.address) }
                                    td { (show(state.task.amount)) }
                                    td { (task.status.as_str()) }
                                    td.id {
                                        @if let Some(reason) = &state.task.failure { (reason) }
                                        @else if let Some(withdrawal) = &state.withdrawal { (withdrawal.txid) }
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
