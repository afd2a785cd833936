//! The dashboard's HTML (maud: checked when built, every value escaped) and
//! its stylesheet. No inline style or script, so the Content-Security-Policy
//! needs no `'unsafe-inline'`.

use axum::http::StatusCode;
use ccgate_engine::console::Viewer;
use ccgate_engine::domain::{AuditEntry, ConsoleRole, MerchantSummary};
use maud::{DOCTYPE, Markup, html};

use super::{LOGIN_PATH, PREFIX, STYLESHEET_PATH};

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
h1 { font-size: 1.35rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input { width: 100%; padding: .6rem .75rem; font: inherit; border: 1px solid var(--line); border-radius: 6px; background: transparent; color: inherit; }
.primary { margin-top: 1rem; padding: .6rem 1.25rem; font: inherit; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
.problem { margin: .75rem 0; padding: .5rem .75rem; border-left: 4px solid #b91c1c; background: rgba(185,28,28,.1); border-radius: 4px; }
.table { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.id { font-family: ui-monospace, monospace; word-break: break-all; }
.muted { opacity: .75; font-size: .9rem; }
"#;

/// A page of the dashboard: its header (with the viewer's menu) and `body`.
fn layout(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ccgate dashboard" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header {
                    a.brand href=(PREFIX) { "ccgate" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Dashboard" {
                            a href=(PREFIX) { "Overview" }
                            @if viewer.is_operator() {
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
fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf_token); }
}

pub fn login(csrf: &str, problem: Option<&str>) -> Markup {
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
        "Overview",
        Some(viewer),
        html! {
            main {
                h1 { "Overview" }
                p.muted { "Logged in as " (viewer.email) ", " (role_name(&viewer.role)) "." }
                h2 { @if viewer.is_operator() { "Merchants" } @else { "Your merchant" } }
                div.table {
                    table {
                        thead { tr { th { "Appid" } th { "Name" } th { "Status" } } }
                        tbody {
                            @for merchant in merchants {
                                tr {
                                    td.id { (merchant.app_id) }
                                    td { (merchant.name) }
                                    td { (merchant.status.as_str()) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `at_ms` as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(at_ms: i64) -> String {
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
                div.table {
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
