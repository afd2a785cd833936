//! Dashboard invoices (payment links, decisions §32): the list with the
//! new-invoice form, creating one, and one invoice with its hosted page's
//! link, QR code and payments. The engine's `Console` decides who may see
//! and make them; the hosted page is the checkout's (`/pay/<key>`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ccgate_engine::console::{InvoiceView, InvoicesPage, NewInvoice, Viewer};
use ccgate_engine::domain::MerchantSummary;
use ccgate_engine::orders::OrderStatus;
use ccgate_ledger::{Amount, CoinId, Registry};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::pages::{csrf_field, layout, merchant_path, merchant_tabs, url_segment, utc};
use super::{PageResult, Posted, SignedIn, page, see_other, visit_of};
use crate::AppState;
use crate::routes::checkout::{page_url, qr_svg};

/// How long a new invoice may be paid: the form's choices, in hours.
const VALIDITY_HOURS: [(u64, &str); 4] = [
    (1, "1 hour"),
    (24, "24 hours"),
    (72, "3 days"),
    (240, "10 days"),
];
/// The form's default validity.
const DEFAULT_VALIDITY_HOURS: u64 = 24;

fn invoices_path(app_id: &str) -> String {
    merchant_path(app_id, "/invoices")
}

fn invoice_path(app_id: &str, reference: &str) -> String {
    merchant_path(app_id, &format!("/invoices/{}", url_segment(reference)))
}

/// Where a page of invoices starts: after the invoice created at
/// `after_at` (unix seconds) whose checkout key is `after_key`.
#[derive(Deserialize)]
pub(super) struct InvoicesQuery {
    #[serde(default)]
    after_at: Option<i64>,
    #[serde(default)]
    after_key: String,
}

/// `GET /dashboard/m/{app_id}/invoices`: a page of invoices, newest first,
/// and the form.
pub(super) async fn invoices(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<InvoicesQuery>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let listed = state
        .console
        .invoices(
            &viewer,
            &app_id,
            query.after_at.map(|at| (at, query.after_key)),
            &state.orders,
            &state.registry,
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(page(StatusCode::OK, list_page(&viewer, &listed)))
}

#[derive(Deserialize)]
pub(super) struct InvoiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    valid_hours: u64,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    payer_email: String,
}

csrf_form!(InvoiceForm);

/// `POST /dashboard/m/{app_id}/invoices`: a new invoice, then its page.
pub(super) async fn create_invoice(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<InvoiceForm>,
) -> PageResult {
    let asked = NewInvoice {
        price: form.amount,
        currency: form.currency,
        product: form.product,
        valid_secs: form.valid_hours.saturating_mul(3600),
        reference: form.reference,
        payer_email: form.payer_email,
    };
    let checkout = state
        .console
        .create_invoice(
            &viewer,
            &app_id,
            &asked,
            &state.orders,
            &state.registry,
            visit_of(&ip),
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(see_other(&invoice_path(
        &app_id,
        &checkout.merchant_order_id,
    )))
}

/// `GET /dashboard/m/{app_id}/invoices/{reference}`.
pub(super) async fn invoice(
    State(state): State<AppState>,
    Path((app_id, reference)): Path<(String, String)>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let (merchant, view) = state
        .console
        .invoice(
            &viewer,
            &app_id,
            &reference,
            &state.orders,
            state.clock.now_unix_ms(),
        )
        .await?;
    let link = page_url(&state, &view.checkout);
    Ok(page(
        StatusCode::OK,
        detail_page(&viewer, &merchant, &view, &link, &state.registry),
    ))
}

fn price(view: &InvoiceView) -> String {
    format!(
        "{} {}",
        view.checkout.product_price, view.checkout.denominated_currency
    )
}

fn list_page(viewer: &Viewer, listed: &InvoicesPage) -> Markup {
    let merchant = &listed.merchant;
    let app_id = merchant.app_id.as_str();
    layout(
        "Invoices",
        Some(viewer),
        html! {
            main {
                h1 { (merchant.name) ": invoices" }
                (merchant_tabs(merchant))
                h2 { "New invoice" }
                form method="post" action=(invoices_path(app_id)) {
                    (csrf_field(viewer))
                    label for="amount" { "Amount" }
                    input #amount type="text" name="amount" inputmode="decimal" required autocomplete="off";
                    label for="currency" { "Currency or coin" }
                    select #currency name="currency" {
                        @for currency in &listed.currencies {
                            option value=(currency) selected[currency == "USD"] { (currency) }
                        }
                    }
                    label for="product" { "Product" }
                    input #product type="text" name="product" required maxlength="120";
                    label for="valid_hours" { "Payable for" }
                    select #valid_hours name="valid_hours" {
                        @for (hours, text) in VALIDITY_HOURS {
                            option value=(hours) selected[hours == DEFAULT_VALIDITY_HOURS] { (text) }
                        }
                    }
                    label for="reference" { "Reference (optional)" }
                    input #reference type="text" name="reference" maxlength="64" aria-describedby="reference-help" autocomplete="off";
                    p.muted #reference-help { "Your own id for it, 3 to 64 characters; its webhook carries it. Left empty, one is made up." }
                    label for="payer_email" { "Payer e-mail (optional)" }
                    input #payer_email type="email" name="payer_email" maxlength="254" aria-describedby="payer-email-help" autocomplete="off";
                    p.muted #payer-email-help { "Shown on this invoice's page here and sent in its webhook; never on the payment page." }
                    button.primary type="submit" { "Create invoice" }
                }
                h2 { "Invoices" }
                @if listed.invoices.is_empty() {
                    p { "No invoices yet." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Invoices" {
                        table #invoices {
                            thead { tr { th { "Created" } th { "Reference" } th { "Product" } th { "Price" } th { "State" } } }
                            tbody {
                                @for view in &listed.invoices {
                                    tr {
                                        td { (utc(view.checkout.created_at.saturating_mul(1000))) }
                                        td.id { a href=(invoice_path(app_id, &view.checkout.merchant_order_id)) { (view.checkout.merchant_order_id) } }
                                        td { (view.checkout.product_name) }
                                        td { (price(view)) }
                                        td { (view.status.as_str()) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some((created_at, key)) = &listed.older {
                    p { a #older-invoices href={ (invoices_path(app_id)) "?after_at=" (created_at) "&after_key=" (url_segment(key)) } { "Older invoices" } }
                }
            }
        },
    )
}

/// `amount` in the coin of the order, with its symbol.
fn coin_amount(registry: &Registry, coin_id: &CoinId, amount: Amount) -> String {
    match registry.coin(coin_id) {
        Some(coin) => format!(
            "{} {}",
            amount.to_decimal_string(coin.precision),
            coin.symbol
        ),
        None => format!("{} base units", amount.base_units()),
    }
}

fn detail_page(
    viewer: &Viewer,
    merchant: &MerchantSummary,
    view: &InvoiceView,
    link: &str,
    registry: &Registry,
) -> Markup {
    let checkout = &view.checkout;
    layout(
        "Invoice",
        Some(viewer),
        html! {
            main {
                h1 { "Invoice " (checkout.merchant_order_id) }
                (merchant_tabs(merchant))
                dl.once {
                    dt { "State" } dd #invoice-state { (view.status.as_str()) }
                    dt { "Price" } dd { (price(view)) }
                    dt { "Product" } dd { (checkout.product_name) }
                    @if let Some(email) = &checkout.buyer_email { dt { "Payer e-mail" } dd #invoice-payer-email { (email) } }
                    dt { "Created" } dd { (utc(checkout.created_at.saturating_mul(1000))) }
                    dt { "Expires" } dd { (utc(checkout.expires_at.saturating_mul(1000))) }
                    @if let Some(order_id) = &checkout.order_id { dt { "Order id" } dd { (order_id) } }
                    dt { "Webhook dialect" } dd { (checkout.dialect.as_str()) }
                }
                h2 { "Payment link" }
                p.wrap { a #invoice-link href=(link) rel="noopener" { (link) } }
                // The link is shared while it can still be paid.
                @if view.status == OrderStatus::Pending {
                    figure.qr {
                        div role="img" aria-label="QR code of the payment link" {
                            // qrcode's SVG of the link: no text of anyone's.
                            (PreEscaped(qr_svg(link)))
                        }
                    }
                }
                @if let Some((order, state)) = &view.order {
                    h2 { "Payment" }
                    dl.once {
                        dt { "Network" } dd { (order.chain) }
                        dt { "Amount due" } dd { (coin_amount(registry, &order.coin_id, order.order_amount)) }
                        dt { "Paid" } dd #invoice-paid { (coin_amount(registry, &order.coin_id, state.progress.paid)) }
                        @if state.progress.underpaid { dt { "Note" } dd { "underpaid" } }
                        @if state.progress.overpaid { dt { "Note" } dd { "overpaid" } }
                        dt { "Address" } dd { (order.pay_address) }
                    }
                    @if state.confirming.is_some() {
                        p.answer { "A payment is confirming." }
                    }
                    div.table tabindex="0" role="region" aria-label="Payments" {
                        table {
                            thead { tr { th { "Credited" } th { "Amount" } th { "Fee" } th { "Txid" } } }
                            tbody {
                                @for payment in &state.payments {
                                    tr {
                                        td { (utc(payment.pay_time.saturating_mul(1000))) }
                                        td { (coin_amount(registry, &payment.coin_id, payment.amount)) }
                                        td { (coin_amount(registry, &payment.coin_id, payment.service_fee)) }
                                        td.id { (payment.txid) }
                                    }
                                }
                            }
                        }
                    }
                }
                p { a href=(invoices_path(merchant.app_id.as_str())) { "All invoices" } }
            }
        },
    )
}
