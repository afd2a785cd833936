//! The dashboard (issue #20, decisions §23): server-rendered pages at
//! `/dashboard` for operators and merchant users. Each handler finds the
//! session's [`Viewer`], checks the CSRF token of a form, makes one call to
//! the engine's `Console` (which decides what the viewer may see and do and
//! writes the audit row) and renders the answer. Session time is the real
//! clock, not the sandbox's business clock.

mod pages;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ccgate_engine::EngineError;
use ccgate_engine::clock::real_now_ms;
use ccgate_engine::console::{Login, Viewer, Visit, random_token};
use maud::Markup;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::client_ip::client_ip;
use crate::failure::console_status;
use crate::routes::checkout::hardened;

/// Where the dashboard is mounted.
pub const PREFIX: &str = "/dashboard";
const LOGIN_PATH: &str = "/dashboard/login";
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
        .route(STYLESHEET_PATH, get(stylesheet))
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

/// `GET /dashboard`: what the viewer may see, or the way to log in.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let Some(viewer) = signed_in(&state, &headers).await? else {
        return Ok(see_other(LOGIN_PATH));
    };
    let merchants = state.console.merchants(&viewer).await?;
    Ok(page(StatusCode::OK, pages::home(&viewer, &merchants)))
}

/// The login form, with a fresh double-submit token in its cookie.
fn login_form(state: &AppState, status: StatusCode, problem: Option<&str>) -> Response {
    let token = random_token();
    with_cookie(
        page(status, pages::login(&token, problem)),
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

/// `POST /dashboard/logout`.
async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    let Some(viewer) = signed_in(&state, &headers).await? else {
        return Ok(see_other(LOGIN_PATH));
    };
    if !viewer.csrf_matches(&form.csrf) {
        return Ok(csrf_refused());
    }
    let ip = client_of(&state, peer, &headers);
    state
        .console
        .logout(
            &viewer,
            Visit {
                ip: &ip,
                now_ms: real_now_ms(),
            },
        )
        .await?;
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
    axum::extract::Query(query): axum::extract::Query<AuditQuery>,
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
