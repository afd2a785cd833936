//! A user's own settings (decisions §31): its TOTP second factor, set up
//! (the secret shown on that answer only, as text, `otpauth://` URI and QR
//! code), confirmed with a code, and removed with a code.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use ccgate_engine::console::{Enrolment, SecondFactor, Viewer};
use maud::{Markup, PreEscaped, html};
use qrcode::QrCode;
use qrcode::render::svg;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::pages::{csrf_field, layout};
use super::{PageResult, Posted, SETTINGS_PATH, SignedIn, page, see_other, visit_of};
use crate::AppState;

const SET_UP_PATH: &str = "/dashboard/settings/totp";
const CONFIRM_PATH: &str = "/dashboard/settings/totp/confirm";
const REMOVE_PATH: &str = "/dashboard/settings/totp/remove";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(SETTINGS_PATH, get(settings))
        .route(SET_UP_PATH, post(set_up))
        .route(CONFIRM_PATH, post(confirm))
        .route(REMOVE_PATH, post(remove))
}

/// A form with a TOTP code.
#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

csrf_form!(CodeForm);

/// `GET /dashboard/settings`.
async fn settings(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let factor = state.console.second_factor(&viewer).await?;
    Ok(page(StatusCode::OK, settings_page(&viewer, factor, None)))
}

/// `POST /dashboard/settings/totp`: a new secret, shown on this answer only.
async fn set_up(
    State(state): State<AppState>,
    Posted { viewer, ip, .. }: Posted<super::CsrfOnly>,
) -> PageResult {
    let enrolment = state
        .console
        .set_up_second_factor(&viewer, visit_of(&ip))
        .await?;
    Ok(page(
        StatusCode::OK,
        settings_page(&viewer, SecondFactor::SetUp, Some(&enrolment)),
    ))
}

/// `POST /dashboard/settings/totp/confirm`: puts it in force.
async fn confirm(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<CodeForm>,
) -> PageResult {
    state
        .console
        .confirm_second_factor(&viewer, &form.code, visit_of(&ip))
        .await?;
    Ok(see_other(SETTINGS_PATH))
}

/// `POST /dashboard/settings/totp/remove`.
async fn remove(
    State(state): State<AppState>,
    Posted { viewer, ip, form }: Posted<CodeForm>,
) -> PageResult {
    state
        .console
        .remove_second_factor(&viewer, &form.code, visit_of(&ip))
        .await?;
    Ok(see_other(SETTINGS_PATH))
}

/// The `<svg>` of a QR code of `text` (no XML declaration: it is inline).
fn qr_svg(text: &str) -> String {
    QrCode::new(text.as_bytes())
        .map(|code| {
            let document = code
                .render::<svg::Color<'_>>()
                .min_dimensions(192, 192)
                .quiet_zone(true)
                .build();
            document
                .find("<svg")
                .map_or_else(String::new, |start| document[start..].to_owned())
        })
        .unwrap_or_default()
}

/// The input of a six-digit code.
pub(super) fn code_input(id: &str) -> Markup {
    html! {
        label for=(id) { "Code from your authenticator app" }
        input id=(id) type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
            pattern="[0-9]{6}" maxlength="6" required;
    }
}

fn settings_page(viewer: &Viewer, factor: SecondFactor, shown: Option<&Enrolment>) -> Markup {
    layout(
        "Settings",
        Some(viewer),
        html! {
            main {
                h1 { "Settings" }
                p.muted { "Logged in as " (viewer.email) "." }
                h2 { "Second factor" }
                @match factor {
                    SecondFactor::On => {
                        p #second-factor { "On: withdrawals and refunds ask for a code from your authenticator app." }
                        form method="post" action=(REMOVE_PATH) {
                            (csrf_field(viewer))
                            (code_input("remove-code"))
                            button.secondary type="submit" { "Remove the second factor" }
                        }
                    }
                    SecondFactor::Off | SecondFactor::SetUp => {
                        p #second-factor {
                            @if factor == SecondFactor::Off { "Off." } @else { "Set up, not confirmed yet." }
                            " Withdrawals and refunds need one: a time-based code (TOTP) from an authenticator app."
                        }
                        @if let Some(enrolment) = shown {
                            p.problem { "Add this secret to your app now: it is not shown again." }
                            dl.once {
                                dt { "Secret" } dd #totp-secret { (enrolment.secret.expose_secret()) }
                                dt { "URI" } dd #totp-uri { (enrolment.uri.expose_secret()) }
                            }
                            figure.qr role="img" aria-label="QR code of the secret" {
                                (PreEscaped(qr_svg(enrolment.uri.expose_secret())))
                            }
                        }
                        @if factor == SecondFactor::SetUp {
                            form method="post" action=(CONFIRM_PATH) {
                                (csrf_field(viewer))
                                (code_input("confirm-code"))
                                button.primary type="submit" { "Confirm" }
                            }
                        }
                        form method="post" action=(SET_UP_PATH) {
                            (csrf_field(viewer))
                            button.secondary type="submit" {
                                @if factor == SecondFactor::Off { "Set up a second factor" } @else { "Start again with a new secret" }
                            }
                        }
                    }
                }
            }
        },
    )
}
