//! The operator's pages (issue #20, decisions §30): the operator's and
//! custody accounts, the chains' status, the incidents `doctor` reports,
//! and in sandbox mode the sandbox's controls as buttons (each a POST form
//! with the session's CSRF token, each action in the audit log) and the
//! one-click demo login. Who may see and do what is the engine's `Console`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use ccgate_engine::EngineError;
use ccgate_engine::clock::real_now_ms;
use ccgate_engine::console::{
    ChainsStatus, Incident, Login, OperatorAccount, SandboxPage, TriggerAsk, Viewer, Visit,
};
use ccgate_engine::domain::WebhookDialect;
use ccgate_engine::sandbox::Sandbox;
use ccgate_engine::triggers::{TriggerReport, Triggers};
use ccgate_ledger::{Account, Amount, Registry};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::pages::{csrf_field, layout, merchant_path, utc};
use super::{
    LOGIN_COOKIE, PREFIX, PageError, PageResult, Posted, SESSION_COOKIE, SignedIn, client_of,
    cookie, csrf_refused, invalid, page, see_other, set_cookie, visit_of, with_cookie,
};
use crate::AppState;

const SANDBOX_PATH: &str = "/dashboard/sandbox";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/accounts", get(accounts))
        .route("/dashboard/chains", get(chains))
        .route("/dashboard/incidents", get(incidents))
        .route(SANDBOX_PATH, get(sandbox))
        .route("/dashboard/sandbox/advance", post(advance))
        .route("/dashboard/sandbox/trigger", post(trigger))
        .route("/dashboard/sandbox/faults", post(faults))
        .route("/dashboard/sandbox/faults/clear", post(clear_faults))
        .route("/dashboard/sandbox/snapshots/save", post(save))
        .route("/dashboard/sandbox/snapshots/restore", post(restore))
        .route("/dashboard/demo-login", post(demo_login))
}

/// The running sandbox; on a gateway that is not one, every sandbox page
/// and action is "not found", as if it had no such route.
fn sandbox_of(state: &AppState) -> Result<&Arc<Sandbox>, PageError> {
    state
        .sandbox
        .as_ref()
        .ok_or_else(|| PageError::from(not_found()))
}

fn triggers_of(state: &AppState) -> Result<&Arc<Triggers>, PageError> {
    state
        .triggers
        .as_ref()
        .ok_or_else(|| PageError::from(not_found()))
}

fn not_found() -> EngineError {
    EngineError::from(ccgate_engine::Rejection::Console(
        ccgate_engine::console::ConsoleRefusal::NotFound,
    ))
}

/// `GET /dashboard/accounts`: what `ccgate ledger accounts` shows.
async fn accounts(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let accounts = state.console.operator_accounts(&viewer).await?;
    Ok(page(
        StatusCode::OK,
        accounts_page(&viewer, &accounts, &state.registry),
    ))
}

/// `GET /dashboard/chains`.
async fn chains(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let status = state
        .console
        .chains_status(&viewer, &state.network, state.clock.now_unix_ms())
        .await?;
    Ok(page(
        StatusCode::OK,
        chains_page(&viewer, &status, &state.registry),
    ))
}

/// `GET /dashboard/incidents`.
async fn incidents(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let found = state.console.incidents(&viewer, &state.network).await?;
    Ok(page(StatusCode::OK, incidents_page(&viewer, &found)))
}

/// `GET /dashboard/sandbox`.
async fn sandbox(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    let shown = state.console.sandbox_page(&viewer, sandbox).await?;
    Ok(page(StatusCode::OK, sandbox_page(&viewer, &shown)))
}

#[derive(Deserialize)]
struct AdvanceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    seconds: String,
}

csrf_form!(AdvanceForm);

/// `POST /dashboard/sandbox/advance`.
async fn advance(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<AdvanceForm>,
) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    let seconds: u64 = form
        .seconds
        .trim()
        .parse()
        .map_err(|_| invalid("advance by a whole number of seconds"))?;
    state
        .console
        .sandbox_advance(
            &viewer,
            sandbox,
            seconds.saturating_mul(1000),
            visit_of(&ip),
        )
        .await?;
    Ok(see_other(SANDBOX_PATH))
}

#[derive(Deserialize)]
struct TriggerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    app_id: String,
    /// `v1` or `v2`.
    #[serde(default)]
    dialect: String,
}

csrf_form!(TriggerForm);

/// `POST /dashboard/sandbox/trigger`: the trigger's report.
async fn trigger(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<TriggerForm>,
) -> PageResult {
    let triggers = triggers_of(&state)?;
    let dialect = match form.dialect.as_str() {
        "v1" => WebhookDialect::V1,
        "v2" => WebhookDialect::V2,
        _ => return Err(invalid("the dialect is v1 or v2")),
    };
    let ask = TriggerAsk {
        name: form.name.trim(),
        app_id: form.app_id.trim(),
        dialect,
    };
    let report = state
        .console
        .sandbox_trigger(&viewer, triggers, ask, visit_of(&ip))
        .await?;
    Ok(page(StatusCode::OK, trigger_page(&viewer, &report)))
}

#[derive(Deserialize)]
struct FaultsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    app_id: String,
    /// Fault words separated by spaces (`drop=0.5 status=500`).
    #[serde(default)]
    faults: String,
    /// How many deliveries; empty: all until cleared.
    #[serde(default)]
    count: String,
}

csrf_form!(FaultsForm);

/// `POST /dashboard/sandbox/faults`.
async fn faults(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<FaultsForm>,
) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    let count = match form.count.trim() {
        "" => None,
        text => Some(
            text.parse::<u32>()
                .map_err(|_| invalid("the count is a whole number, or empty for all"))?,
        ),
    };
    state
        .console
        .sandbox_webhook_faults(
            &viewer,
            sandbox,
            form.app_id.trim(),
            &form.faults,
            count,
            visit_of(&ip),
        )
        .await?;
    Ok(see_other(SANDBOX_PATH))
}

#[derive(Deserialize)]
struct MerchantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    app_id: String,
}

csrf_form!(MerchantForm);

/// `POST /dashboard/sandbox/faults/clear`.
async fn clear_faults(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<MerchantForm>,
) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    state
        .console
        .sandbox_clear_faults(&viewer, sandbox, form.app_id.trim(), visit_of(&ip))
        .await?;
    Ok(see_other(SANDBOX_PATH))
}

#[derive(Deserialize)]
struct SnapshotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

csrf_form!(SnapshotForm);

/// `POST /dashboard/sandbox/snapshots/save`.
async fn save(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<SnapshotForm>,
) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    state
        .console
        .sandbox_save(&viewer, sandbox, &form.name, visit_of(&ip))
        .await?;
    Ok(see_other(SANDBOX_PATH))
}

/// `POST /dashboard/sandbox/snapshots/restore`.
async fn restore(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<SnapshotForm>,
) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    state
        .console
        .sandbox_restore(&viewer, sandbox, &form.name, visit_of(&ip))
        .await?;
    Ok(see_other(SANDBOX_PATH))
}

#[derive(Deserialize)]
struct DemoForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/demo-login`: sandbox mode only (elsewhere "not found");
/// the login form's double-submit CSRF token, as a login.
async fn demo_login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<DemoForm>,
) -> PageResult {
    let sandbox = sandbox_of(&state)?;
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes())) {
        return Ok(csrf_refused());
    }
    let ip = client_of(&state, peer, &headers);
    let visit = Visit {
        ip: &ip,
        now_ms: real_now_ms(),
    };
    let outcome = state
        .console
        .demo_login(sandbox, cookie(&headers, SESSION_COOKIE), visit)
        .await?;
    Ok(match outcome {
        Login::Started { token, .. } => started(&state, token.expose_secret()),
        Login::Refused | Login::Throttled => csrf_refused(),
    })
}

/// The answer to a login that started a session: its cookie, the login
/// form's cleared, and the way to the dashboard.
fn started(state: &AppState, token: &str) -> Response {
    let response = with_cookie(
        see_other(PREFIX),
        &set_cookie(state, SESSION_COOKIE, token, None),
    );
    with_cookie(response, &set_cookie(state, LOGIN_COOKIE, "", Some(0)))
}

/// `amount` in `coin_id` with its symbol.
fn coin_text(registry: &Registry, coin_id: &ccgate_ledger::CoinId, amount: Amount) -> String {
    match registry.coin(coin_id) {
        Some(coin) => amount.to_decimal_string(coin.precision),
        None => format!("{} base units", amount.base_units()),
    }
}

/// What an account's figures mean, and its net with the sign that reads
/// naturally: custody and network costs are debits (held, spent), fees,
/// the treasury and adjustments credits (earned, owed).
fn account_kind(account: &Account) -> (&'static str, bool) {
    match account {
        Account::ChainCustody(_) => ("custody: what the chain's addresses should hold", true),
        Account::OperatorNetworkCosts => ("network costs: gas paid by the operator", true),
        Account::OperatorFees => ("fees earned", false),
        Account::OperatorTreasury => ("treasury: the operator's inventory for swaps", false),
        _ => ("adjustments: the other side of manual entries", false),
    }
}

fn net_text(registry: &Registry, row: &OperatorAccount, debit_side: bool) -> String {
    let (plus, minus) = if debit_side {
        (row.debits, row.credits)
    } else {
        (row.credits, row.debits)
    };
    match plus.checked_sub(minus) {
        Some(net) => coin_text(registry, &row.coin_id, net),
        None => format!(
            "−{}",
            coin_text(
                registry,
                &row.coin_id,
                minus.checked_sub(plus).unwrap_or(Amount::ZERO)
            )
        ),
    }
}

fn operator_nav() -> Markup {
    html! {
        nav.tabs aria-label="Operations" {
            a href=(PREFIX) { "Merchants" }
            a href="/dashboard/accounts" { "Accounts" }
            a href="/dashboard/chains" { "Chains" }
            a href="/dashboard/incidents" { "Incidents" }
            a href=(SANDBOX_PATH) { "Sandbox" }
        }
    }
}

fn accounts_page(viewer: &Viewer, rows: &[OperatorAccount], registry: &Registry) -> Markup {
    layout(
        "Accounts",
        Some(viewer),
        html! {
            main {
                h1 { "Operator and custody accounts" }
                (operator_nav())
                p.muted { "As " code { "ccgate ledger accounts" } " shows them. Custody is what the chains should hold; fees, network costs and the treasury are the operator's." }
                @if rows.is_empty() {
                    p { "No postings yet." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Accounts" {
                        table #accounts {
                            thead { tr { th { "Account" } th { "Coin" } th { "Net" } th { "Debits" } th { "Credits" } } }
                            tbody {
                                @for row in rows {
                                    @let (kind, debit_side) = account_kind(&row.account);
                                    tr {
                                        td { code { (row.account.key()) } br; span.muted { (kind) } }
                                        td { (registry.coin(&row.coin_id).map_or(row.coin_id.as_str(), |coin| coin.symbol.as_str())) }
                                        td { (net_text(registry, row, debit_side)) }
                                        td { (coin_text(registry, &row.coin_id, row.debits)) }
                                        td { (coin_text(registry, &row.coin_id, row.credits)) }
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

/// A figure that could not be read: the operator sees why.
fn figure<T: std::fmt::Display>(value: &Result<T, EngineError>) -> String {
    match value {
        Ok(value) => value.to_string(),
        Err(error) => format!("unreadable: {error}"),
    }
}

fn chains_page(viewer: &Viewer, status: &ChainsStatus, registry: &Registry) -> Markup {
    layout(
        "Chains",
        Some(viewer),
        html! {
            main {
                h1 { "Chains" }
                (operator_nav())
                div.table tabindex="0" role="region" aria-label="Chains" {
                    table #chains {
                        thead { tr { th { "Chain" } th { "Kind" } th { "Height" } th { "Scan lag (blocks)" } th { "Withdrawals waiting" } th { "Hot wallet" } } }
                        tbody {
                            @for chain in &status.chains {
                                tr {
                                    td { (chain.chain) }
                                    td { @if chain.live { "node" } @else { "devnet" } }
                                    td { (figure(&chain.height)) }
                                    td { @match &chain.scan_lag { Some(lag) => (figure(lag)), None => "—" } }
                                    td { (chain.withdrawals_waiting) @if status.withdrawals_capped { "+" } }
                                    td.id {
                                        @match &chain.hot_wallet {
                                            None => span.muted { "none (devnet)" },
                                            Some(Err(error)) => { "unreadable: " (error) },
                                            Some(Ok(wallet)) => {
                                                (wallet.address)
                                                @for (token_id, amount) in &wallet.holdings {
                                                    br;
                                                    @match registry.token(token_id) {
                                                        Some((coin, token)) => { (amount.to_decimal_string(coin.precision)) " " (token.symbol) },
                                                        None => { (amount.base_units()) " base units of " (token_id) },
                                                    }
                                                }
                                            },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.muted { "Scan lag: confirmed blocks the deposit watcher has not credited yet. Withdrawals waiting: accepted on-chain withdrawals not yet confirmed or failed." }
            }
        },
    )
}

fn incidents_page(viewer: &Viewer, incidents: &[Incident]) -> Markup {
    layout(
        "Incidents",
        Some(viewer),
        html! {
            main {
                h1 { "Incidents" }
                (operator_nav())
                p.muted { "What " code { "ccgate doctor" } " reports from the database: reorgs that touched credited deposits, and deposit addresses holding less than the books. " code { "ccgate doctor" } " also replays the whole journal." }
                @if incidents.is_empty() {
                    p #no-incidents { "No incidents." }
                } @else {
                    div.table tabindex="0" role="region" aria-label="Incidents" {
                        table {
                            thead { tr { th { "Found" } th { "Kind" } th { "Chain" } th { "What" } } }
                            tbody {
                                @for incident in incidents {
                                    tr {
                                        td { (utc(incident.at_ms)) }
                                        td { (incident.kind) }
                                        td { (incident.chain) }
                                        td.id { (incident.what) }
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

fn sandbox_page(viewer: &Viewer, shown: &SandboxPage) -> Markup {
    let merchant_select = |id: &str| {
        html! {
            select id=(id) name="app_id" required {
                @for merchant in &shown.merchants {
                    option value=(merchant.app_id) { (merchant.name) " (" (merchant.app_id) ")" }
                }
            }
        }
    };
    layout(
        "Sandbox",
        Some(viewer),
        html! {
            main {
                h1 { "Sandbox" }
                (operator_nav())
                p.muted { "Simulated money only: these controls exist on a sandbox (" code { "serve --sandbox" } "), never on a live gateway. Every action is written to the audit log." }
                h2 { "Clock" }
                dl.once {
                    dt { "Business time" } dd #sandbox-now { (utc(shown.clock.now_ms)) }
                    dt { "Ahead of real time" } dd { (shown.clock.offset_ms / 1000) " s" }
                    dt { "Frozen" } dd { @if shown.clock.frozen { "yes" } @else { "no" } }
                }
                form.inline method="post" action="/dashboard/sandbox/advance" {
                    (csrf_field(viewer))
                    label for="seconds" { "Advance by (seconds)" }
                    input #seconds type="number" name="seconds" min="1" value="3600" required;
                    button.primary type="submit" { "Advance the clock" }
                }
                h2 { "Fire a trigger" }
                form method="post" action="/dashboard/sandbox/trigger" {
                    (csrf_field(viewer))
                    label for="trigger-name" { "Trigger" }
                    select #trigger-name name="name" required {
                        @for trigger in shown.triggers {
                            option value=(trigger.name) { (trigger.name) " — " (trigger.description) }
                        }
                    }
                    label for="trigger-merchant" { "Merchant" }
                    (merchant_select("trigger-merchant"))
                    label for="trigger-dialect" { "Dialect" }
                    select #trigger-dialect name="dialect" {
                        option value="v2" { "v2" }
                        option value="v1" { "v1" }
                    }
                    button.primary type="submit" { "Fire" }
                }
                h2 { "Webhook faults" }
                form method="post" action="/dashboard/sandbox/faults" {
                    (csrf_field(viewer))
                    label for="faults-merchant" { "Merchant" }
                    (merchant_select("faults-merchant"))
                    label for="faults" { "Faults" }
                    input #faults type="text" name="faults" placeholder="drop=0.5 status=500 delay=2s" aria-describedby="faults-help" required;
                    p.muted #faults-help { "As " code { "ccgate sandbox webhooks fault" } " takes them: delay=5s, drop=0.3, duplicate=0.2, reorder, bad-signature, status=500." }
                    label for="faults-count" { "For how many deliveries (empty: until cleared)" }
                    input #faults-count type="number" name="count" min="1";
                    button.primary type="submit" { "Inject faults" }
                }
                form.inline method="post" action="/dashboard/sandbox/faults/clear" {
                    (csrf_field(viewer))
                    label for="clear-merchant" { "Merchant" }
                    (merchant_select("clear-merchant"))
                    button.secondary type="submit" { "Clear faults" }
                }
                h2 { "Snapshots" }
                form.inline method="post" action="/dashboard/sandbox/snapshots/save" {
                    (csrf_field(viewer))
                    label for="snapshot-name" { "Name" }
                    input #snapshot-name type="text" name="name" required pattern="[A-Za-z0-9_.-]+";
                    button.primary type="submit" { "Save a snapshot" }
                }
                @if shown.snapshots.is_empty() {
                    p { "No snapshots saved." }
                } @else {
                    p.muted { "Restoring replaces everything, the dashboard's users and sessions included, with the snapshot's." }
                    div.table tabindex="0" role="region" aria-label="Snapshots" {
                        table #snapshots {
                            thead { tr { th { "Name" } th { "Saved" } th { "Size" } th { "Restore" } } }
                            tbody {
                                @for snapshot in &shown.snapshots {
                                    tr {
                                        td { (snapshot.name) }
                                        td { (utc(snapshot.saved_at_unix.saturating_mul(1000))) }
                                        td { (snapshot.bytes) " bytes" }
                                        td {
                                            form method="post" action="/dashboard/sandbox/snapshots/restore" {
                                                (csrf_field(viewer))
                                                input type="hidden" name="name" value=(snapshot.name);
                                                button.secondary type="submit" aria-label={ "Restore " (snapshot.name) } { "Restore" }
                                            }
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

fn trigger_page(viewer: &Viewer, report: &TriggerReport) -> Markup {
    layout(
        "Trigger fired",
        Some(viewer),
        html! {
            main {
                h1 { "Trigger " (report.name) }
                (operator_nav())
                h2 { "What it did" }
                ol.wrap #trigger-steps {
                    @for step in &report.steps { li { (step) } }
                }
                h2 { "Webhooks queued" }
                @if report.webhooks.is_empty() {
                    p { "None." }
                } @else {
                    ul.wrap {
                        @for row in &report.webhooks {
                            li { a href=(merchant_path(row.app_id.as_str(), &format!("/webhooks/{}", row.id))) { (row.order_type) " " (row.record_id) } }
                        }
                    }
                }
                p { a href=(SANDBOX_PATH) { "Back to the sandbox" } }
            }
        },
    )
}
