//! The operator's users page (issue #20, decisions §34): every dashboard
//! user with its role, second factor and last login, and the button that
//! disables or enables one (its sessions end at once). Operators only; the
//! engine's `Console` decides and writes the audit row.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use ccgate_engine::console::Viewer;
use ccgate_engine::domain::{ConsoleRole, ConsoleUserListing};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{csrf_field, layout, merchant_path, utc};
use super::{PageResult, Posted, SignedIn, USERS_PATH, invalid, page, see_other, visit_of};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(USERS_PATH, get(users))
        .route("/dashboard/users/{id}/status", post(set_status))
}

/// `GET /dashboard/users`.
async fn users(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let users = state.console.users(&viewer).await?;
    Ok(page(StatusCode::OK, users_page(&viewer, &users)))
}

#[derive(Deserialize)]
struct UserStatusForm {
    #[serde(default)]
    csrf: String,
    /// `active` or `disabled`.
    #[serde(default)]
    status: String,
}

csrf_form!(UserStatusForm);

/// `POST /dashboard/users/{id}/status`: disables or enables a user.
async fn set_status(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    Posted { viewer, ip, form }: Posted<UserStatusForm>,
) -> PageResult {
    let disabled = match form.status.as_str() {
        "disabled" => true,
        "active" => false,
        _ => return Err(invalid("the status is active or disabled")),
    };
    state
        .console
        .set_user_disabled(&viewer, user_id, disabled, visit_of(&ip))
        .await?;
    Ok(see_other(USERS_PATH))
}

fn users_page(viewer: &Viewer, users: &[ConsoleUserListing]) -> Markup {
    layout(
        "Users",
        Some(viewer),
        html! {
            main {
                h1 { "Users" }
                p.muted { "A disabled user's sessions end at once and it cannot log in until enabled again. New users are made on their merchant's overview, or with " code { "ccgate user create" } "." }
                div.table tabindex="0" role="region" aria-label="Users" {
                    table #users {
                        thead { tr { th { "E-mail" } th { "Role" } th { "Second factor" } th { "Last login" } th { "Status" } th { "Action" } } }
                        tbody {
                            @for listing in users {
                                @let user = &listing.user;
                                tr {
                                    td { (user.email) }
                                    td {
                                        @match &user.role {
                                            ConsoleRole::Operator => { "operator" },
                                            ConsoleRole::Merchant(app_id) => {
                                                "merchant " a.id href=(merchant_path(app_id.as_str(), "")) { (app_id) }
                                            },
                                        }
                                    }
                                    td { @if listing.second_factor { "on" } @else { "off" } }
                                    td { @match user.last_login_ms { Some(at) => (utc(at)), None => "never" } }
                                    td { @if user.disabled_at_ms.is_some() { "disabled" } @else { "active" } }
                                    td {
                                        @if user.id != viewer.user_id {
                                            form method="post" action={ "/dashboard/users/" (user.id) "/status" } {
                                                (csrf_field(viewer))
                                                @if user.disabled_at_ms.is_some() {
                                                    input type="hidden" name="status" value="active";
                                                    button.primary type="submit" aria-label={ "Enable " (user.email) } { "Enable" }
                                                } @else {
                                                    input type="hidden" name="status" value="disabled";
                                                    button.secondary type="submit" aria-label={ "Disable " (user.email) } { "Disable" }
                                                }
                                            }
                                        } @else {
                                            span.muted { "you" }
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
