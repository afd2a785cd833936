//! The dashboard (issue #20, decisions §23): server-rendered pages at
//! `/dashboard` for operators and merchant users. Each handler finds the
//! session's [`Viewer`], checks the CSRF token of a form, makes one call to
//! the engine's `Console` (which decides what the viewer may see and do and
//! writes the audit row) and renders the answer. Session time is the real
//! clock, not the sandbox's business clock.

/// A form whose `csrf` field carries the session's CSRF token: every
/// dashboard form, so the trait's one method is written once.
macro_rules! csrf_form {
    ($form:ty) => {
        impl crate::dashboard::CsrfForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    };
}

mod csv;
mod figures;
mod invoices;
mod money;
mod operations;
mod orders;
mod pages;
mod settings;
mod users;
mod wallets;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{
    ConnectInfo, Form, FromRequest, FromRequestParts, Path, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ccgate_engine::clock::real_now_ms;
use ccgate_engine::console::ConsoleRefusal;
use ccgate_engine::console::{
    Actor, CHART_DAYS, ExportKind, ExportRange, Login, Viewer, Visit, generate_password,
    random_token,
};
use ccgate_engine::domain::{ConsoleRole, MerchantStatus};
use ccgate_engine::{EngineError, Rejection};
use maud::Markup;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::client_ip::client_ip;
use crate::failure::console_status;
use crate::routes::checkout::hardened;

/// Where the dashboard is mounted.
pub const PREFIX: &str = "/dashboard";
const LOGIN_PATH: &str = "/dashboard/login";
/// Each user's own settings (its second factor).
const SETTINGS_PATH: &str = "/dashboard/settings";
/// The operator's list of dashboard users (decisions §34).
const USERS_PATH: &str = "/dashboard/users";
const STYLESHEET_PATH: &str = "/dashboard/assets/dashboard.css";
/// The session cookie: 32 random bytes, hex; the server keeps only their hash.
const SESSION_COOKIE: &str = "ccgate_session";
/// The login form's double-submit CSRF token: there is no session yet.
const LOGIN_COOKIE: &str = "ccgate_login";

/// The dashboard's routes, merged into the public router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(home))
        .route(LOGIN_PATH, get(login_page).post(login))
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/audit", get(audit))
        .route("/dashboard/merchants", post(create_merchant))
        .route("/dashboard/m/{app_id}", get(overview))
        .route("/dashboard/m/{app_id}/users", post(create_user))
        .route("/dashboard/m/{app_id}/status", post(set_status))
        .route("/dashboard/m/{app_id}/fee", post(set_fee))
        .route("/dashboard/m/{app_id}/orders", get(orders))
        .route(
            "/dashboard/m/{app_id}/orders/{merchant_order_id}",
            get(order),
        )
        .route("/dashboard/m/{app_id}/export", get(export))
        .route(
            "/dashboard/m/{app_id}/invoices",
            get(invoices::invoices).post(invoices::create_invoice),
        )
        .route(
            "/dashboard/m/{app_id}/invoices/{reference}",
            get(invoices::invoice),
        )
        .route("/dashboard/m/{app_id}/developers", get(developers))
        .route("/dashboard/m/{app_id}/webhook", post(set_webhook))
        .route("/dashboard/m/{app_id}/allowlist", post(set_allowlist))
        .route("/dashboard/m/{app_id}/webhook/test", post(test_webhook))
        .route("/dashboard/m/{app_id}/secret", post(rotate_secret))
        .route("/dashboard/m/{app_id}/webhooks/{id}", get(webhook))
        .route("/dashboard/m/{app_id}/webhooks/{id}/resend", post(resend))
        .route(STYLESHEET_PATH, get(stylesheet))
        .merge(wallets::routes())
        .merge(operations::routes())
        .merge(money::routes())
        .merge(settings::routes())
        .merge(users::routes())
}

/// A dashboard answer that failed: its page, with the status
/// `failure::console_status` gives; a server error's detail is logged and
/// never shown.
#[derive(Debug)]
pub struct PageError(EngineError);

impl From<EngineError> for PageError {
    fn from(error: EngineError) -> PageError {
        PageError(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = console_status(&self.0);
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "dashboard page failed");
            "Something went wrong on the server; try again.".to_owned()
        } else {
            self.0.to_string()
        };
        page(status, pages::error(status, &message))
    }
}

type PageResult = Result<Response, PageError>;

/// An HTML page with the hosted page's security headers.
fn page(status: StatusCode, markup: Markup) -> Response {
    hardened(
        status,
        "text/html; charset=utf-8",
        "no-store",
        markup.into_string(),
    )
}

fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `GET /dashboard/assets/dashboard.css`.
async fn stylesheet() -> Response {
    hardened(
        StatusCode::OK,
        "text/css; charset=utf-8",
        "no-cache",
        pages::STYLE.to_owned(),
    )
}

/// The value of cookie `name` the request carries.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` for the dashboard's path: never readable by script, never
/// sent from another site, only over TLS when the dashboard is served so.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: Option<u32>) -> String {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let max_age = max_age_secs.map_or(String::new(), |secs| format!("; Max-Age={secs}"));
    format!("{name}={value}; Path={PREFIX}; HttpOnly; SameSite=Strict{secure}{max_age}")
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The user whose live session the request carries.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, PageError> {
    match cookie(headers, SESSION_COOKIE) {
        None => Ok(None),
        Some(token) => Ok(state.console.viewer(token, real_now_ms()).await?),
    }
}

/// Where and when, for the audit log and the login throttle.
fn client_of(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    client_ip(peer.ip(), headers, &state.config.trusted_proxies).to_string()
}

/// A form posted without this session's CSRF token.
fn csrf_refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        pages::error(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this dashboard; reload the page and try again.",
        ),
    )
}

/// `GET /dashboard`: an operator's merchants, a merchant user's overview,
/// or the way to log in.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let Some(viewer) = signed_in(&state, &headers).await? else {
        return Ok(see_other(LOGIN_PATH));
    };
    if let Some(own) = viewer.role.merchant() {
        return Ok(see_other(&pages::merchant_path(own.as_str(), "")));
    }
    let merchants = state.console.merchants(&viewer).await?;
    Ok(page(StatusCode::OK, pages::home(&viewer, &merchants)))
}

/// A page's viewer: the user whose live session the request carries;
/// without one, the answer is the way to the login page.
struct SignedIn(Viewer);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match signed_in(state, &parts.headers).await {
            Ok(Some(viewer)) => Ok(SignedIn(viewer)),
            Ok(None) => Err(see_other(LOGIN_PATH)),
            Err(error) => Err(error.into_response()),
        }
    }
}

/// A form that carries the session's CSRF token.
trait CsrfForm: DeserializeOwned + Send {
    fn csrf(&self) -> &str;
}

/// A form posted by a signed-in user with its session's CSRF token, and the
/// client's address (for the audit log); otherwise the answer is the login
/// page or the refusal, and nothing is done.
struct Posted<F> {
    viewer: Viewer,
    ip: String,
    form: F,
}

impl<F: CsrfForm> FromRequest<AppState> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ip = client_of(state, peer, &parts.headers);
        let headers = parts.headers.clone();
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        match signed_in(state, &headers).await {
            Err(error) => Err(error.into_response()),
            Ok(None) => Err(see_other(LOGIN_PATH)),
            Ok(Some(viewer)) if !viewer.csrf_matches(form.csrf()) => Err(csrf_refused()),
            Ok(Some(viewer)) => Ok(Posted { viewer, ip, form }),
        }
    }
}

fn visit_of(ip: &str) -> Visit<'_> {
    Visit {
        ip,
        now_ms: real_now_ms(),
    }
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

csrf_form!(NameForm);

/// `POST /dashboard/merchants`: operators create a merchant; its secret is
/// shown on this answer only.
async fn create_merchant(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<NameForm>,
) -> PageResult {
    let (app_id, secret) = state
        .console
        .create_merchant(&viewer, &form.name, visit_of(&ip))
        .await?;
    Ok(page(
        StatusCode::OK,
        pages::shown_once(
            &viewer,
            "Merchant created",
            &[
                ("Appid", app_id.as_str()),
                ("App secret", secret.expose_secret()),
            ],
            &pages::merchant_path(app_id.as_str(), ""),
        ),
    ))
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

csrf_form!(EmailForm);

/// `POST /dashboard/m/{app_id}/users`: operators add a merchant user; its
/// password is shown on this answer only.
async fn create_user(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<EmailForm>,
) -> PageResult {
    let merchant = state.console.merchant(&viewer, &app_id).await?;
    let password = generate_password();
    state
        .console
        .create_user(
            Actor::User(&viewer),
            &form.email,
            &password,
            ConsoleRole::Merchant(merchant.app_id.clone()),
            visit_of(&ip),
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        pages::shown_once(
            &viewer,
            "User created",
            &[
                ("E-mail", form.email.trim().to_lowercase().as_str()),
                ("Password", password.expose_secret()),
            ],
            &pages::merchant_path(merchant.app_id.as_str(), ""),
        ),
    ))
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    /// `active` or `disabled`.
    #[serde(default)]
    status: String,
}

csrf_form!(StatusForm);

/// `POST /dashboard/m/{app_id}/status`: operators disable or re-enable a
/// merchant.
async fn set_status(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<StatusForm>,
) -> PageResult {
    let status = [MerchantStatus::Active, MerchantStatus::Disabled]
        .into_iter()
        .find(|status| status.as_str() == form.status)
        .ok_or_else(|| invalid("the status is active or disabled"))?;
    state
        .console
        .set_merchant_status(&viewer, &app_id, status, visit_of(&ip))
        .await?;
    Ok(see_other(&pages::merchant_path(&app_id, "")))
}

#[derive(Deserialize)]
struct FeeForm {
    #[serde(default)]
    csrf: String,
    /// The service fee in percent, e.g. `0.03`.
    #[serde(default)]
    percent: String,
}

csrf_form!(FeeForm);

/// `POST /dashboard/m/{app_id}/fee`: operators set the merchant's service
/// fee, as `ccgate merchant set-fee` does.
async fn set_fee(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<FeeForm>,
) -> PageResult {
    state
        .console
        .set_service_fee(&viewer, &app_id, &form.percent, visit_of(&ip))
        .await?;
    Ok(see_other(&pages::merchant_path(&app_id, "")))
}

#[derive(Deserialize)]
struct OverviewQuery {
    /// The chart's span: 30 (the default) or 90 days.
    days: Option<u32>,
}

/// `GET /dashboard/m/{app_id}?days=`: balances and receipts with their USD
/// value, the chart of receipts per day, orders by state, and (to
/// operators) its users.
async fn overview(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<OverviewQuery>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let now_ms = state.clock.now_unix_ms();
    let overview = state.console.overview(&viewer, &app_id, now_ms).await?;
    let figures = state
        .console
        .figures(
            &overview,
            &state.records,
            state.prices.as_ref(),
            &state.registry,
            query.days.unwrap_or(CHART_DAYS[0]),
            now_ms,
        )
        .await?;
    let figures = figures::section(&app_id, &figures);
    Ok(page(
        StatusCode::OK,
        pages::overview(&viewer, &overview, figures),
    ))
}

/// `GET /dashboard/m/{app_id}/orders?…`: newest first, searched and
/// narrowed (orders.rs reads the query).
async fn orders(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(form): Query<orders::OrdersForm>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let query = form.query(&state.registry)?;
    let listed = state
        .console
        .orders(
            &viewer,
            &app_id,
            &state.orders,
            &query,
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        orders::orders_page(&viewer, &listed, &form, &state.registry),
    ))
}

#[derive(Deserialize)]
struct ExportQuery {
    #[serde(default)]
    kind: String,
    /// First day, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    from: String,
    /// Last day, included.
    #[serde(default)]
    to: String,
}

fn invalid(message: &str) -> PageError {
    PageError(EngineError::from(Rejection::Console(
        ConsoleRefusal::Invalid(message.to_owned()),
    )))
}

/// A UTC day, `YYYY-MM-DD`.
fn day(text: &str, name: &str) -> Result<time::Date, PageError> {
    // By hand: the tree builds `time` without its parser.
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    let parsed = match text.trim().split('-').collect::<Vec<_>>()[..] {
        [year, month, day] if digits(year, 4) && digits(month, 2) && digits(day, 2) => {
            match (year.parse::<i32>(), month.parse::<u8>(), day.parse::<u8>()) {
                (Ok(year), Ok(month), Ok(day)) => time::Month::try_from(month)
                    .ok()
                    .and_then(|month| time::Date::from_calendar_date(year, month, day).ok()),
                _ => None,
            }
        }
        _ => None,
    };
    parsed.ok_or_else(|| invalid(&format!("the {name} date is a day as YYYY-MM-DD")))
}

/// The unix second `day` starts, UTC.
fn start_of(day: time::Date) -> i64 {
    day.midnight().assume_utc().unix_timestamp()
}

/// `GET /dashboard/m/{app_id}/export?kind=&from=&to=`: a CSV download.
async fn export(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(query): Query<ExportQuery>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let kind = ExportKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == query.kind)
        .ok_or_else(|| invalid("the export is one of orders, deposits, withdrawals, journal"))?;
    const DAY_SECS: i64 = 24 * 60 * 60;
    let (first, last) = (day(&query.from, "first")?, day(&query.to, "last")?);
    let range = ExportRange {
        kind,
        since: start_of(first),
        until: start_of(last).saturating_add(DAY_SECS),
    };
    let (merchant, rows) = state
        .console
        .export(
            &viewer,
            &app_id,
            range,
            &state.orders,
            &state.records,
            state.clock.now_unix_ms(),
        )
        .await?;
    let mut response = hardened(
        StatusCode::OK,
        "text/csv; charset=utf-8",
        "no-store",
        csv::render(&rows, &state.registry),
    );
    // The Appid is letters and digits, the days as parsed digits and
    // dashes: nothing to escape in the header.
    let name = format!(
        "attachment; filename=\"{}-{}-{first}-{last}.csv\"",
        kind.as_str(),
        merchant.app_id.as_str(),
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /dashboard/m/{app_id}/orders/{merchant_order_id}`.
async fn order(
    State(state): State<AppState>,
    Path((app_id, merchant_order_id)): Path<(String, String)>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let order = state
        .console
        .order(
            &viewer,
            &app_id,
            &merchant_order_id,
            &state.orders,
            &state.records,
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        pages::order(&viewer, &order, &state.registry),
    ))
}

/// `GET /dashboard/m/{app_id}/developers`.
async fn developers(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let developers = state.console.developers(&viewer, &app_id).await?;
    Ok(page(
        StatusCode::OK,
        pages::developers(&viewer, &developers, None),
    ))
}

#[derive(Deserialize)]
struct UrlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
}

csrf_form!(UrlForm);

/// `POST /dashboard/m/{app_id}/webhook`: sets (or, empty, removes) the URL.
async fn set_webhook(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<UrlForm>,
) -> PageResult {
    state
        .console
        .set_webhook_url(&viewer, &app_id, &form.url, visit_of(&ip))
        .await?;
    Ok(see_other(&pages::merchant_path(&app_id, "/developers")))
}

#[derive(Deserialize)]
struct AllowlistForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    allowlist: String,
}

csrf_form!(AllowlistForm);

/// `POST /dashboard/m/{app_id}/allowlist`: where API calls may come from.
async fn set_allowlist(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, form }: Posted<AllowlistForm>,
) -> PageResult {
    state
        .console
        .set_api_allowlist(&viewer, &app_id, &form.allowlist, visit_of(&ip))
        .await?;
    Ok(see_other(&pages::merchant_path(&app_id, "/developers")))
}

/// `POST /dashboard/m/{app_id}/webhook/test`: the developers page with the
/// receiver's answer to a test webhook.
async fn test_webhook(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, .. }: Posted<CsrfOnly>,
) -> PageResult {
    let Some(sender) = state.webhook_sender.as_ref() else {
        return Err(PageError(EngineError::Delivery(
            "this server does not deliver webhooks".to_owned(),
        )));
    };
    let outcome = state
        .console
        .send_test_webhook(&viewer, &app_id, sender, visit_of(&ip))
        .await?;
    let developers = state.console.developers(&viewer, &app_id).await?;
    Ok(page(
        StatusCode::OK,
        pages::developers(&viewer, &developers, Some(&outcome)),
    ))
}

/// `POST /dashboard/m/{app_id}/secret`: a new app secret, shown once.
async fn rotate_secret(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Posted { viewer, ip, .. }: Posted<CsrfOnly>,
) -> PageResult {
    let secret = state
        .console
        .rotate_secret(&viewer, &app_id, visit_of(&ip))
        .await?;
    Ok(page(
        StatusCode::OK,
        pages::shown_once(
            &viewer,
            "New app secret",
            &[
                ("Appid", app_id.as_str()),
                ("App secret", secret.expose_secret()),
            ],
            &pages::merchant_path(&app_id, "/developers"),
        ),
    ))
}

/// `GET /dashboard/m/{app_id}/webhooks/{id}`: one webhook, its body and
/// every attempt.
async fn webhook(
    State(state): State<AppState>,
    Path((app_id, id)): Path<(String, i64)>,
    SignedIn(viewer): SignedIn,
) -> PageResult {
    let (row, attempts) = state.console.webhook(&viewer, &app_id, id).await?;
    Ok(page(
        StatusCode::OK,
        pages::webhook(&viewer, &row, &attempts),
    ))
}

/// `POST /dashboard/m/{app_id}/webhooks/{id}/resend`.
async fn resend(
    State(state): State<AppState>,
    Path((app_id, id)): Path<(String, i64)>,
    Posted { viewer, ip, .. }: Posted<CsrfOnly>,
) -> PageResult {
    state
        .console
        .resend_webhook(&viewer, &app_id, id, visit_of(&ip))
        .await?;
    Ok(see_other(&pages::merchant_path(
        &app_id,
        &format!("/webhooks/{id}"),
    )))
}

/// The login form, with a fresh double-submit token in its cookie.
fn login_form(state: &AppState, status: StatusCode, problem: Option<&str>) -> Response {
    let token = random_token();
    with_cookie(
        page(
            status,
            pages::login(&token, problem, state.sandbox.is_some()),
        ),
        &set_cookie(state, LOGIN_COOKIE, &token, None),
    )
}

/// `GET /dashboard/login`. Shown to a logged-in user too: logging in
/// again (as anyone) replaces that session.
async fn login_page(State(state): State<AppState>) -> Response {
    login_form(&state, StatusCode::OK, None)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/login`.
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
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
        .login(
            &form.email,
            SecretString::from(form.password),
            cookie(&headers, SESSION_COOKIE),
            visit,
        )
        .await?;
    Ok(match outcome {
        Login::Started { token, .. } => {
            let response = with_cookie(
                see_other(PREFIX),
                &set_cookie(&state, SESSION_COOKIE, token.expose_secret(), None),
            );
            with_cookie(response, &set_cookie(&state, LOGIN_COOKIE, "", Some(0)))
        }
        Login::Refused => login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("The e-mail or the password is wrong."),
        ),
        Login::Throttled => login_form(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed logins: wait a quarter of an hour and try again."),
        ),
    })
}

/// What every form of a logged-in page sends besides its own fields.
#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

csrf_form!(CsrfOnly);

/// `POST /dashboard/logout`.
async fn logout(
    State(state): State<AppState>,
    Posted { viewer, ip, .. }: Posted<CsrfOnly>,
) -> PageResult {
    state.console.logout(&viewer, visit_of(&ip)).await?;
    Ok(with_cookie(
        see_other(LOGIN_PATH),
        &set_cookie(&state, SESSION_COOKIE, "", Some(0)),
    ))
}

/// Rows of the audit log per page.
const AUDIT_PAGE_ROWS: u32 = 50;

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

/// `GET /dashboard/audit`: operators only.
async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> PageResult {
    let Some(viewer) = signed_in(&state, &headers).await? else {
        return Ok(see_other(LOGIN_PATH));
    };
    let rows = state
        .console
        .audit_log(&viewer, query.before, AUDIT_PAGE_ROWS)
        .await?;
    let older = (rows.len() == AUDIT_PAGE_ROWS as usize)
        .then(|| rows.last().map(|row| row.id))
        .flatten();
    Ok(page(StatusCode::OK, pages::audit(&viewer, &rows, older)))
}
