//! The dashboard's HTML (maud: checked when built, every value escaped) and
//! its stylesheet. No inline style or script, so the Content-Security-Policy
//! needs no `'unsafe-inline'`.

use axum::http::StatusCode;
use ccgate_engine::console::{Developers, OrderPage, Overview, Viewer, fee_percent_text};
use ccgate_engine::domain::Order;
use ccgate_engine::domain::{
    AuditEntry, ConsoleRole, MerchantStatus, MerchantSummary, WebhookAttempt, WebhookRow,
};
use ccgate_engine::webhooks::PingOutcome;
use ccgate_ledger::{Amount, Registry};
use maud::{DOCTYPE, Markup, html};

use super::{LOGIN_PATH, PREFIX, SETTINGS_PATH, STYLESHEET_PATH, USERS_PATH};

/// Served at [`STYLESHEET_PATH`]; readable from 390 px wide up.
pub const STYLE: &str = r#"
:root { color-scheme: light dark; --accent: #1d4ed8; --line: #d1d5db; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f3f4f6; color: #111827; }
@media (prefers-color-scheme: dark) { body { background: #111827; color: #f9fafb; } main, .card { background: #1f2937 !important; } a { color: #93c5fd; } }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .75rem 1rem; background: #111827; color: #f9fafb; }
header a { color: #f9fafb; text-decoration: none; }
header .brand { font-weight: 700; margin-right: auto; }
header nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
header form { margin: 0; }
header button { font: inherit; padding: .25rem .75rem; border: 1px solid #9ca3af; border-radius: 6px; background: transparent; color: inherit; cursor: pointer; }
main { max-width: 64rem; margin: 1rem auto; padding: 1rem; background: #fff; border-radius: 12px; }
.card { max-width: 24rem; margin: 3rem auto; padding: 1.5rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h1 { font-size: 1.35rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input, select { width: 100%; padding: .6rem .75rem; font: inherit; border: 1px solid var(--line); border-radius: 6px; background: transparent; color: inherit; }
.primary { margin-top: 1rem; padding: .6rem 1.25rem; font: inherit; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
.problem { margin: .75rem 0; padding: .5rem .75rem; border-left: 4px solid #b91c1c; background: rgba(185,28,28,.1); border-radius: 4px; }
.table { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.id { font-family: ui-monospace, monospace; word-break: break-all; }
.muted { opacity: .75; font-size: .9rem; }
.tabs { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0 0 1rem; }
.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
.inline input { flex: 1 1 16rem; width: auto; }
.inline .primary { margin-top: 0; }
.secondary { padding: .5rem 1rem; font: inherit; border: 1px solid var(--accent); border-radius: 6px; background: transparent; color: inherit; cursor: pointer; }
.once { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; }
.once dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
.answer { padding: .75rem; border-radius: 8px; background: rgba(29,78,216,.1); }
.answer.ok { background: rgba(22,163,74,.15); }
.wrap { overflow-wrap: anywhere; }
.chip { display: inline-block; margin: 0 .25rem .25rem 0; padding: 0 .4rem; border: 1px solid var(--line); border-radius: 999px; white-space: nowrap; font-size: .9rem; }
figure.chart { margin: 1rem 0; }
.chart-image svg { display: block; width: 100%; height: auto; }
.search { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0 1rem; align-items: end; margin-bottom: 1rem; }
.search .secondary { margin-top: .75rem; width: 100%; }
.qr { max-width: 14rem; background: #fff; padding: .5rem; border-radius: 8px; }
.qr svg { display: block; width: 100%; height: auto; }
pre { white-space: pre-wrap; word-break: break-all; font-size: .85rem; background: rgba(127,127,127,.12); padding: .5rem; border-radius: 6px; }
"#;

/// A merchant's page: `/dashboard/m/<appid><suffix>`.
pub fn merchant_path(app_id: &str, suffix: &str) -> String {
    format!("{PREFIX}/m/{app_id}{suffix}")
}

/// A page of the dashboard: its header (with the viewer's menu) and `body`.
pub(super) fn layout(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ccgate dashboard" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                // No icon: without this line browsers ask for /favicon.ico.
                link rel="icon" href="data:,";
            }
            body {
                header {
                    a.brand href=(PREFIX) { "ccgate" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Dashboard" {
                            a href=(PREFIX) { "Overview" }
                            a href=(SETTINGS_PATH) { "Settings" }
                            @if viewer.is_operator() {
                                a href="/dashboard/chains" { "Operations" }
                                a href=(USERS_PATH) { "Users" }
                                a href="/dashboard/audit" { "Audit log" }
                            }
                        }
                        form method="post" action="/dashboard/logout" {
                            (csrf_field(viewer))
                            button type="submit" { "Log out " span.muted { (viewer.email) } }
                        }
                    }
                }
                (body)
            }
        }
    }
}

/// The hidden field every form of a logged-in page carries.
pub(super) fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf_token); }
}

/// The login page; in sandbox mode (`demo`) with the one-click demo login.
pub fn login(csrf: &str, problem: Option<&str>, demo: bool) -> Markup {
    layout(
        "Log in",
        None,
        html! {
            main.card {
                h1 { "Log in" }
                @if let Some(problem) = problem {
                    p.problem role="alert" { (problem) }
                }
                form method="post" action=(LOGIN_PATH) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="email" { "E-mail" }
                    input #email type="email" name="email" autocomplete="username" required;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button.primary type="submit" { "Log in" }
                }
                @if demo {
                    form method="post" action="/dashboard/demo-login" {
                        input type="hidden" name="csrf" value=(csrf);
                        p.muted { "This gateway is a sandbox: simulated money only." }
                        button.secondary type="submit" { "Log in as the demo operator" }
                    }
                }
            }
        },
    )
}

pub fn error(status: StatusCode, message: &str) -> Markup {
    layout(
        status.canonical_reason().unwrap_or("Error"),
        None,
        html! {
            main.card {
                h1 { (status.canonical_reason().unwrap_or("Error")) }
                p.problem role="alert" { (message) }
                p { a href=(PREFIX) { "Back to the dashboard" } }
            }
        },
    )
}

fn role_name(role: &ConsoleRole) -> String {
    match role {
        ConsoleRole::Operator => "operator".to_owned(),
        ConsoleRole::Merchant(app_id) => format!("user of merchant {app_id}"),
    }
}

pub fn home(viewer: &Viewer, merchants: &[MerchantSummary]) -> Markup {
    layout(
        "Merchants",
        Some(viewer),
        html! {
            main {
                h1 { "Merchants" }
                p.muted { "Logged in as " (viewer.email) ", " (role_name(&viewer.role)) "." }
                div.table tabindex="0" role="region" aria-label="Merchants" {
                    table {
                        thead { tr { th { "Name" } th { "Appid" } th { "Status" } } }
                        tbody {
                            @for merchant in merchants {
                                tr {
                                    td { a href=(merchant_path(merchant.app_id.as_str(), "")) { (merchant.name) } }
                                    td.id { (merchant.app_id) }
                                    td { (merchant.status.as_str()) }
                                }
                            }
                        }
                    }
                }
                h2 { "Create a merchant" }
                form.inline method="post" action="/dashboard/merchants" {
                    (csrf_field(viewer))
                    label for="name" { "Name" }
                    input #name type="text" name="name" required maxlength="100";
                    button.primary type="submit" { "Create merchant" }
                }
            }
        },
    )
}

/// The tabs of one merchant's pages.
pub(super) fn merchant_tabs(merchant: &MerchantSummary) -> Markup {
    let app_id = merchant.app_id.as_str();
    html! {
        nav.tabs aria-label="Merchant" {
            a href=(merchant_path(app_id, "")) { "Overview" }
            a href=(merchant_path(app_id, "/orders")) { "Orders" }
            a href=(merchant_path(app_id, "/invoices")) { "Invoices" }
            a href=(merchant_path(app_id, "/withdrawals")) { "Withdrawals" }
            a href=(merchant_path(app_id, "/addresses")) { "Addresses" }
            a href=(merchant_path(app_id, "/wallet-users")) { "Wallet users" }
            a href=(merchant_path(app_id, "/swaps")) { "Swaps" }
            a href=(merchant_path(app_id, "/batch-withdrawals")) { "Batch withdrawals" }
            a href=(merchant_path(app_id, "/developers")) { "Developers" }
        }
    }
}

/// `amount` of the coin `order` is priced in, with its symbol.
pub(super) fn order_amount(registry: &Registry, order: &Order, amount: Amount) -> String {
    match registry.coin(&order.coin_id) {
        Some(coin) => format!(
            "{} {}",
            amount.to_decimal_string(coin.precision),
            coin.symbol
        ),
        None => format!("{} base units", amount.base_units()),
    }
}

/// A confirmation count, or a dash when the chain does not say.
fn confirmations(count: Option<u64>) -> String {
    count.map_or_else(|| "–".to_owned(), |count| count.to_string())
}

pub fn order(viewer: &Viewer, page: &OrderPage, registry: &Registry) -> Markup {
    let OrderPage {
        merchant,
        order,
        state,
        ..
    } = page;
    let app_id = merchant.app_id.as_str();
    let progress = &state.progress;
    let order_path = merchant_path(
        app_id,
        &format!("/orders/{}", url_segment(&order.merchant_order_id)),
    );
    layout(
        "Order",
        Some(viewer),
        html! {
            main {
                h1 { "Order " (order.merchant_order_id) }
                (merchant_tabs(merchant))
                dl.once {
                    dt { "State" } dd #order-state { (progress.status.as_str()) }
                    dt { "Amount" } dd { (order_amount(registry, order, order.order_amount)) }
                    dt { "Paid" } dd #order-paid { (order_amount(registry, order, progress.paid)) }
                    @if progress.underpaid { dt { "Note" } dd { "underpaid" } }
                    @if progress.overpaid { dt { "Note" } dd { "overpaid" } }
                    @if page.payments.iter().any(|seen| seen.late) { dt { "Note" } dd { "paid late (after it expired)" } }
                    dt { "Price" } dd { (order.product_price) " " (order.denominated_currency) }
                    dt { "Product" } dd { (order.product_name) }
                    dt { "Chain" } dd { (order.chain) }
                    dt { "Address" } dd { (order.pay_address) }
                    dt { "Created" } dd { (utc(order.created_at.saturating_mul(1000))) }
                    dt { "Expires" } dd { (utc(order.expires_at.saturating_mul(1000))) }
                    dt { "Order id" } dd { (order.order_id) }
                }
                @if let Some(confirming) = &state.confirming {
                    p.answer { "A payment is confirming"
                        @if let Some(height) = confirming.block_height { " (block " (height) ")" } "." }
                }
                h2 { "Payments" }
                div.table tabindex="0" role="region" aria-label="Payments" {
                    table {
                        thead { tr { th { "Credited" } th { "Amount" } th { "Fee" } th { "Confirmations" } th { "From" } th { "Txid" } } }
                        tbody {
                            @for seen in &page.payments {
                                tr {
                                    td { (utc(seen.payment.pay_time.saturating_mul(1000))) @if seen.late { " (late)" } }
                                    td { (order_amount(registry, order, seen.payment.amount)) }
                                    td { (order_amount(registry, order, seen.payment.service_fee)) }
                                    td.confirmations { (confirmations(seen.confirmations)) }
                                    td.id { (seen.payment.from_address) }
                                    td.id { (seen.payment.txid) }
                                }
                            }
                        }
                    }
                }
                h2 { "Refunds" }
                @if page.refunds.is_empty() {
                    p { "No refunds." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Refunds" {
                        table {
                            thead { tr { th { "Created" } th { "Amount" } th { "Network fee" } th { "Status" } th { "To" } th { "Txid" } } }
                            tbody {
                                @for refund in &page.refunds {
                                    tr {
                                        td { a href=(merchant_path(app_id, &format!("/withdrawals/{}", refund.record_id))) { (utc(refund.created_at.saturating_mul(1000))) } }
                                        td { (order_amount(registry, order, refund.value)) }
                                        td { (order_amount(registry, order, refund.network_fee)) }
                                        td { (refund.status.as_str()) }
                                        td.id { (refund.to_address) }
                                        td.id { (refund.txid) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !progress.paid.is_zero() {
                    form.refund method="post" action={ (order_path) "/refund" } aria-label="Refund" {
                        (csrf_field(viewer))
                        label for="refund-address" { "Refund to (an address on " (order.chain) ")" }
                        input #refund-address type="text" name="address" required;
                        label for="refund-amount" { "Amount (the payee bears the network fee)" }
                        input #refund-amount type="text" name="amount" inputmode="decimal" required;
                        label for="refund-code" { "Code from your authenticator app" }
                        input #refund-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
                        button.primary type="submit" { "Refund" }
                    }
                }
                h2 { "Webhooks" }
                (webhook_rows(app_id, &page.webhooks))
            }
        },
    )
}

/// Webhooks a record caused, each with its attempts and its delivery
/// log's link.
pub(super) fn webhook_rows(app_id: &str, webhooks: &[(WebhookRow, Vec<WebhookAttempt>)]) -> Markup {
    html! {
        @if webhooks.is_empty() {
            p { "No webhooks." }
        } @else {
            div.table tabindex="0" role="region" aria-label="Webhooks" {
                table {
                    thead { tr { th { "Created" } th { "Kind" } th { "Status" } th { "Attempts" } th { "Next attempt" } } }
                    tbody {
                        @for (row, attempts) in webhooks {
                            tr {
                                td { a href=(merchant_path(app_id, &format!("/webhooks/{}", row.id))) { (utc(row.created_at_ms)) } }
                                td { (row.order_type) }
                                td { (row.status) }
                                td {
                                    @if attempts.is_empty() { "none yet" }
                                    @for attempt in attempts {
                                        div { "#" (attempt.attempt) " " (utc(attempt.at_ms)) ": " (attempt.outcome) }
                                    }
                                }
                                td { (next_attempt(row)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `text` as one URL path segment: a merchant order id may hold anything.
pub(super) fn url_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `figures`: balances, receipts and the chart (`figures::section`).
pub fn overview(viewer: &Viewer, overview: &Overview<'_>, figures: Markup) -> Markup {
    let merchant = &overview.merchant;
    layout(
        &merchant.name,
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) }
                (merchant_tabs(merchant))
                p.muted { "Appid " (merchant.app_id) " · " (merchant.status.as_str()) }
                (figures)
                h2 { "Orders by state" }
                @if overview.order_states.iter().all(|(_, count)| *count == 0) {
                    p { "No orders yet." }
                } @else {
                    p.muted { "Every order, in the state the API reports for it now." }
                    ul #order-states {
                        @for (state, count) in &overview.order_states {
                            li { a href={ (merchant_path(merchant.app_id.as_str(), "/orders")) "?state=" (state.as_str()) } { (state.as_str()) } ": " (count) }
                        }
                    }
                }
                @if viewer.is_operator() {
                    h2 { "API access" }
                    form method="post" action=(merchant_path(merchant.app_id.as_str(), "/status")) {
                        (csrf_field(viewer))
                        @if merchant.status == MerchantStatus::Active {
                            input type="hidden" name="status" value="disabled";
                            p.muted { "A disabled merchant's API calls are refused." }
                            button.secondary type="submit" { "Disable this merchant" }
                        } @else {
                            input type="hidden" name="status" value="active";
                            p.muted { "This merchant is disabled: its API calls are refused." }
                            button.primary type="submit" { "Enable this merchant" }
                        }
                    }
                    h2 { "Service fee" }
                    form.inline method="post" action=(merchant_path(merchant.app_id.as_str(), "/fee")) {
                        (csrf_field(viewer))
                        label for="fee-percent" { "Percent of each deposit" }
                        input #fee-percent type="text" inputmode="decimal" name="percent" value=(fee_percent_text(overview.service_fee_ppm)) required;
                        button.primary type="submit" { "Set fee" }
                    }
                    h2 { "Users" }
                    ul {
                        @for user in &overview.users { li { (user.email) } }
                    }
                    form.inline method="post" action=(merchant_path(merchant.app_id.as_str(), "/users")) {
                        (csrf_field(viewer))
                        label for="email" { "E-mail" }
                        input #email type="email" name="email" required;
                        button.primary type="submit" { "Create user" }
                    }
                }
            }
        },
    )
}

pub fn developers(viewer: &Viewer, page: &Developers, answer: Option<&PingOutcome>) -> Markup {
    let merchant = &page.merchant;
    let app_id = merchant.app_id.as_str();
    layout(
        "Developers",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": developers" }
                (merchant_tabs(merchant))
                dl.once {
                    dt { "Appid" } dd { (app_id) }
                    dt { "Webhook dialect" } dd { (page.settings.webhook_dialect.as_str()) }
                    dt { "Service fee" } dd #service-fee { (fee_percent_text(page.settings.service_fee_ppm)) " % of each deposit (" (page.settings.service_fee_ppm) " ppm)" }
                }
                h2 { "Webhook URL" }
                form.inline method="post" action=(merchant_path(app_id, "/webhook")) {
                    (csrf_field(viewer))
                    label for="url" { "URL" }
                    input #url type="url" name="url" value=(page.settings.webhook_url.as_deref().unwrap_or(""));
                    button.primary type="submit" { "Save" }
                }
                form method="post" action=(merchant_path(app_id, "/webhook/test")) {
                    (csrf_field(viewer))
                    button.secondary type="submit" { "Send test webhook" }
                }
                @if let Some(answer) = answer {
                    section.answer.ok[answer.acknowledged] #test-answer aria-live="polite" {
                        h2 { "The receiver's answer" }
                        p {
                            @match answer.http_status {
                                Some(status) => { "HTTP " (status) },
                                None => { "No HTTP answer" },
                            }
                            " · " (answer.outcome) " · " (answer.latency_ms) " ms"
                        }
                        pre { (answer.response_head) }
                    }
                }
                h2 { "API allowlist" }
                form method="post" action=(merchant_path(app_id, "/allowlist")) {
                    (csrf_field(viewer))
                    label for="allowlist" { "Addresses API calls may come from" }
                    input #allowlist type="text" name="allowlist" value=(page.api_allowlist) aria-describedby="allowlist-help";
                    p.muted #allowlist-help { "IP addresses or CIDR ranges, separated by spaces; empty: any address." }
                    button.primary type="submit" { "Save" }
                }
                h2 { "App secret" }
                form method="post" action=(merchant_path(app_id, "/secret")) {
                    (csrf_field(viewer))
                    p.muted { "A new secret is shown once; the old one stops working." }
                    button.secondary type="submit" { "Rotate the secret" }
                }
                h2 { "Webhook deliveries" }
                div.table tabindex="0" role="region" aria-label="Webhook deliveries" {
                    table {
                        thead { tr { th { "Created" } th { "Kind" } th { "Record" } th { "Status" } th { "Attempts" } th { "Next attempt" } } }
                        tbody {
                            @for row in &page.webhooks {
                                tr {
                                    td { a href=(merchant_path(app_id, &format!("/webhooks/{}", row.id))) { (utc(row.created_at_ms)) } }
                                    td { (row.order_type) }
                                    td.id { (row.record_id) }
                                    td { (row.status) }
                                    td { (row.attempts) }
                                    td { (next_attempt(row)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub fn webhook(viewer: &Viewer, row: &WebhookRow, attempts: &[WebhookAttempt]) -> Markup {
    let app_id = row.app_id.as_str();
    layout(
        "Webhook",
        Some(viewer),
        html! {
            main {
                h1 { "Webhook " (row.id) }
                p { a href=(merchant_path(app_id, "/developers")) { "Back to developers" } }
                dl.once {
                    dt { "Kind" } dd { (row.order_type) }
                    dt { "Record" } dd { (row.record_id) }
                    dt { "Status" } dd { (row.status) }
                    dt { "URL" } dd { (row.url.as_deref().unwrap_or("the merchant's webhook URL")) }
                    dt { "Next attempt" } dd #next-attempt { (next_attempt(row)) }
                }
                h2 { "Body sent" }
                pre { (row.payload) }
                form method="post" action=(merchant_path(app_id, &format!("/webhooks/{}/resend", row.id))) {
                    (csrf_field(viewer))
                    button.secondary type="submit" { "Resend" }
                }
                h2 { "Attempts" }
                div.table tabindex="0" role="region" aria-label="Attempts" {
                    table {
                        thead { tr { th { "#" } th { "When" } th { "HTTP" } th { "Outcome" } th { "Answer" } th { "Next retry" } } }
                        tbody {
                            @for (index, attempt) in attempts.iter().enumerate() {
                                tr {
                                    td { (attempt.attempt) }
                                    td { (utc(attempt.at_ms)) }
                                    td { @if let Some(status) = attempt.http_status { (status) } }
                                    td { (attempt.outcome) }
                                    td { code { (attempt.response_head) } }
                                    td.next-retry { (retry_after(row, attempts, index)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// When a webhook is tried next: a time while it is pending, none once
/// delivered or given up (its stored time is then the last attempt's).
fn next_attempt(row: &WebhookRow) -> String {
    if row.status == WEBHOOK_PENDING {
        utc(row.next_attempt_at_ms)
    } else {
        "none".to_owned()
    }
}

/// The retry that followed attempt `index` (issue #20's delivery log): the
/// next attempt's time once made, the scheduled time while the webhook is
/// pending, or none after a delivery or the last try.
fn retry_after(row: &WebhookRow, attempts: &[WebhookAttempt], index: usize) -> String {
    match attempts.get(index + 1) {
        Some(next) => utc(next.at_ms),
        None => next_attempt(row),
    }
}

/// What is shown once (a secret, a password), and where to go on.
pub fn shown_once(viewer: &Viewer, title: &str, values: &[(&str, &str)], next: &str) -> Markup {
    layout(
        title,
        Some(viewer),
        html! {
            main {
                h1 { (title) }
                p.problem { "Copy this now: it is not shown again." }
                dl.once {
                    @for (name, value) in values {
                        dt { (name) } dd { (value) }
                    }
                }
                p { a href=(next) { "Continue" } }
            }
        },
    )
}

/// `at_ms` as `YYYY-MM-DD HH:MM:SS UTC`.
/// A webhook waiting for its next attempt, as the outbox stores it.
const WEBHOOK_PENDING: &str = "pending";

pub(super) fn utc(at_ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_else(|| at_ms.to_string())
}

pub fn audit(viewer: &Viewer, rows: &[AuditEntry], older: Option<i64>) -> Markup {
    layout(
        "Audit log",
        Some(viewer),
        html! {
            main {
                h1 { "Audit log" }
                div.table tabindex="0" role="region" aria-label="Audit log" {
                    table {
                        thead { tr { th { "When" } th { "Who" } th { "Merchant" } th { "What" } th { "From" } } }
                        tbody {
                            @for row in rows {
                                tr {
                                    td { (utc(row.at_ms)) }
                                    td { (row.actor) }
                                    td.id { @if let Some(app_id) = &row.app_id { (app_id) } }
                                    td { (row.action) @if !row.detail.is_empty() { ": " (row.detail) } }
                                    td { (row.ip) }
                                }
                            }
                        }
                    }
                }
                @if let Some(before) = older {
                    p { a href={ "/dashboard/audit?before=" (before) } { "Older entries" } }
                }
            }
        },
    )
}
