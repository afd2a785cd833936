//! `GET /`: what this server is, for whoever opens its address in a browser.

use axum::extract::State;
use axum::response::Response;

use super::docs::{escape, html_page};
use crate::AppState;

/// The gateway, its kind of money (as `/healthz` reports it) and where its
/// description lives.
pub async fn home(State(state): State<AppState>) -> Response {
    let mode = state.config.mode;
    let money = if mode.is_live() {
        "It moves real money on the chains that follow a node."
    } else {
        "Every chain is simulated (devnets): nothing here moves real money."
    };
    let sandbox = if state.sandbox.is_some() {
        "<p>This is a <strong>sandbox</strong>: business time is virtual and its operator can trigger payments, advance the clock and inject webhook faults.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>ccgate</h1><p>ccgate, a CCPayment v1-compatible payment gateway that also speaks v2. Merchants call it at <code>{base}/ccpayment/v1/…</code> or <code>{base}/ccpayment/v2/…</code>, signed with their Appid and AppSecret.</p>\
<p>Mode: <strong id=\"mode\">{mode}</strong>. {money}</p>{sandbox}\
<ul><li><a href=\"/docs\">/docs</a> — the API: signing, endpoints with examples, webhooks, codes</li>\
<li><a href=\"/openapi.json\">/openapi.json</a> — the same as OpenAPI 3.1</li>\
<li><a href=\"/healthz\">/healthz</a> — health and mode, as JSON</li></ul>",
        base = escape(state.config.public_url.trim_end_matches('/')),
        mode = mode.as_str(),
    );
    html_page("ccgate", &body)
}
