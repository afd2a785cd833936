//! The operator's users page (issue #20, decisions §34): every dashboard
//! user with its role, second factor and last login, and the button that
//! disables or enables one (its sessions end at once), and the form that
//! changes one's role (decisions §40). Operators only; the engine's
//! `Console` decides and writes the audit row.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use ccgate_engine::console::Viewer;
use ccgate_engine::domain::{ConsoleRole, ConsoleUserListing, MerchantSummary};
use ccgate_ledger::MerchantId;
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{csrf_field, layout, merchant_path, utc};
use super::{PageResult, Posted, SignedIn, USERS_PATH, invalid, page, see_other, visit_of};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(USERS_PATH, get(users))
        .route("/dashboard/users/{id}/status", post(set_status))
        .route("/dashboard/users/{id}/role", post(set_role))
}

/// The value of the role form's choice of operator; a merchant user's is
/// `merchant:<Appid>`.
const OPERATOR_CHOICE: &str = "operator";
const MERCHANT_CHOICE: &str = "merchant:";

/// `GET /dashboard/users`.
async fn users(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> PageResult {
    let users = state.console.users(&viewer).await?;
    let merchants = state.console.merchants(&viewer).await?;
    Ok(page(
        StatusCode::OK,
        users_page(&viewer, &users, &merchants),
    ))
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

#[derive(Deserialize)]
struct UserRoleForm {
    #[serde(default)]
    csrf: String,
    /// `operator`, or `merchant:<Appid>`.
    #[serde(default)]
    role: String,
}

csrf_form!(UserRoleForm);

/// `POST /dashboard/users/{id}/role`: makes a user an operator or a user of
/// a merchant.
async fn set_role(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    Posted { viewer, ip, form }: Posted<UserRoleForm>,
) -> PageResult {
    let role = if form.role == OPERATOR_CHOICE {
        ConsoleRole::Operator
    } else if let Some(app_id) = form.role.strip_prefix(MERCHANT_CHOICE)
        && !app_id.is_empty()
    {
        ConsoleRole::Merchant(MerchantId::new(app_id))
    } else {
        return Err(invalid("the role is operator or a merchant's user"));
    };
    state
        .console
        .set_user_role(&viewer, user_id, role, visit_of(&ip))
        .await?;
    Ok(see_other(USERS_PATH))
}

/// The role form's value for `role`.
fn role_choice(role: &ConsoleRole) -> String {
    match role {
        ConsoleRole::Operator => OPERATOR_CHOICE.to_owned(),
        ConsoleRole::Merchant(app_id) => format!("{MERCHANT_CHOICE}{app_id}"),
    }
}

fn users_page(
    viewer: &Viewer,
    users: &[ConsoleUserListing],
    merchants: &[MerchantSummary],
) -> Markup {
    layout(
        "Users",
        Some(viewer),
        html! {
            main {
                h1 { "Users" }
                p.muted { "A disabled user's sessions end at once and it cannot log in until enabled again. A user whose role changes is logged out, and has its new role from its next login; the last operator stays one. New users are made on their merchant's overview, or with " code { "ccgate user create" } "." }
                div.table tabindex="0" role="region" aria-label="Users" {
                    table #users {
                        thead { tr { th { "E-mail" } th { "Role" } th { "Second factor" } th { "Last login" } th { "Status" } th { "Action" } th { "Change role" } } }
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
                                    td {
                                        @if user.id != viewer.user_id {
                                            @let current = role_choice(&user.role);
                                            form.inline method="post" action={ "/dashboard/users/" (user.id) "/role" } {
                                                (csrf_field(viewer))
                                                label for={ "role-" (user.id) } { "Role of " (user.email) }
                                                select id={ "role-" (user.id) } name="role" {
                                                    option value=(OPERATOR_CHOICE) selected[current == OPERATOR_CHOICE] { "operator" }
                                                    @for merchant in merchants {
                                                        @let choice = role_choice(&ConsoleRole::Merchant(merchant.app_id.clone()));
                                                        option value=(choice) selected[current == choice] { "merchant user of " (merchant.name) " (" (merchant.app_id) ")" }
                                                    }
                                                }
                                                button.secondary type="submit" aria-label={ "Change the role of " (user.email) } { "Change" }
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
