//! The operator's say over fees and users, over real HTTP against the real
//! binary (decisions §34): the operator sets a merchant's service fee from
//! its overview and the merchant's user sees it in force on the developers
//! page; the operator disables a user (its session ends, it cannot log in),
//! enables it again, and cannot disable itself; the operator changes a
//! user's role (decisions §40).

use crate::dashboard::{
    Visitor, create_user, logged_in, merchant_made, screenshots_dir, user_made,
};
use crate::support::{
    Gateway, HttpResponse, HttpStub, USDT_ERC20, eventually, pay_confirmed, permanent_address,
};

/// The id of the user `email` on the operator's users page, read from the
/// action of its row's status form.
pub fn user_id_of(ops: &mut Visitor<'_>, email: &str) -> i64 {
    let page = ops.get("/dashboard/users");
    assert_eq!(page.status, 200, "{}", page.text());
    row_user_id(&page, email)
}

fn row_user_id(page: &HttpResponse, email: &str) -> i64 {
    let html = page.text();
    let row = &html[html
        .find(&format!("<td>{email}</td>"))
        .unwrap_or_else(|| panic!("no {email} in {html}"))..];
    let action = "/dashboard/users/";
    let at = row.find(action).unwrap() + action.len();
    row[at..at + row[at..].find('/').unwrap()].parse().unwrap()
}

/// The text of the users page's row of `email`.
fn row_of(page: &HttpResponse, email: &str) -> String {
    let html = page.text();
    let at = html.find(&format!("<td>{email}</td>")).unwrap();
    html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
}

#[test]
fn operators_set_fees_and_disable_users() {
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, ops_csrf) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");
    let app_id = merchant_made(&mut ops, &ops_csrf, "Fee shop").app_id;
    let m = format!("/dashboard/m/{app_id}");
    let owner_password = user_made(&mut ops, &ops_csrf, &app_id, "owner@fee.example");
    let (mut owner, owner_csrf) = logged_in(&gateway, "owner@fee.example", &owner_password, &m);

    // The fee: set on the overview, in force on the developers page.
    let set = ops.post(
        &format!("{m}/fee"),
        &[("csrf", &ops_csrf), ("percent", "0.5")],
    );
    assert_eq!(set.status, 303, "{}", set.text());
    assert!(ops.get(&m).text().contains(r#"name="percent" value="0.5""#));
    let developers = owner.get(&format!("{m}/developers"));
    assert!(
        developers
            .text()
            .contains(r#"<dd id="service-fee">0.5 % of each deposit (5000 ppm)</dd>"#),
        "{}",
        developers.text()
    );
    let refused = ops.post(
        &format!("{m}/fee"),
        &[("csrf", &ops_csrf), ("percent", "101")],
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    // Without the CSRF token nothing is done.
    let forged = ops.post(&format!("{m}/fee"), &[("percent", "9")]);
    assert_eq!(forged.status, 403);
    assert!(ops.get(&m).text().contains(r#"value="0.5""#));

    // The users page: both users, their roles, second factors, last logins.
    let users = ops.get("/dashboard/users");
    let row = row_of(&users, "owner@fee.example");
    assert!(row.contains("merchant <a"), "{row}");
    assert!(row.contains(&app_id), "{row}");
    assert!(row.contains("<td>off</td>"), "{row}");
    assert!(row.contains("<td>active</td>"), "{row}");
    assert!(!row.contains("never"), "{row}");
    let own_row = row_of(&users, "ops@example.com");
    assert!(own_row.contains("<td>operator</td>"), "{own_row}");
    assert!(!own_row.contains("/status"), "{own_row}");

    // Disabled: the owner's session ends and its password no longer logs in.
    let owner_id = row_user_id(&users, "owner@fee.example");
    let status = format!("/dashboard/users/{owner_id}/status");
    let disabled = ops.post(&status, &[("csrf", &ops_csrf), ("status", "disabled")]);
    assert_eq!(disabled.header("location"), Some("/dashboard/users"));
    let ended = owner.get(&m);
    assert_eq!(ended.header("location"), Some("/dashboard/login"));
    let refused_post = owner.post(
        &format!("{m}/webhook"),
        &[("csrf", &owner_csrf), ("url", "")],
    );
    assert_eq!(refused_post.header("location"), Some("/dashboard/login"));
    let mut again = Visitor::new(&gateway);
    let login = again.log_in("owner@fee.example", &owner_password);
    assert_eq!(login.status, 401, "a disabled user's login is refused");
    assert!(
        row_of(&ops.get("/dashboard/users"), "owner@fee.example").contains("<td>disabled</td>")
    );

    // Enabled again, it logs in.
    let enabled = ops.post(&status, &[("csrf", &ops_csrf), ("status", "active")]);
    assert_eq!(enabled.status, 303);
    let mut back = Visitor::new(&gateway);
    assert_eq!(
        back.log_in("owner@fee.example", &owner_password).status,
        303
    );

    // An operator cannot disable itself.
    // (The page offers no button for it; the first user made has id 1.)
    let own_id = 1;
    let self_disable = ops.post(
        &format!("/dashboard/users/{own_id}/status"),
        &[("csrf", &ops_csrf), ("status", "disabled")],
    );
    assert_eq!(self_disable.status, 400, "{}", self_disable.text());
    assert_eq!(ops.get("/dashboard/users").status, 200);

    let audit = ops.get("/dashboard/audit").text().to_owned();
    for action in [
        "service fee set: 0.5 % (5000 ppm)",
        "user disabled: owner@fee.example",
        "user enabled: owner@fee.example",
        "login refused: the user is disabled",
    ] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
}

/// Decisions §40: an operator moves a merchant user to another merchant and
/// makes it an operator; each change ends the user's session, and its next
/// login has the new role. The operator cannot change its own role; an
/// unknown merchant, the role a user already has, and a form without the
/// CSRF token change nothing, and leave no audit row.
#[test]
fn operators_change_users_roles() {
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, ops_csrf) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");
    let mut shops = Vec::new();
    for name in ["Shop A", "Shop B"] {
        shops.push(merchant_made(&mut ops, &ops_csrf, name).app_id);
    }
    let (a, b) = (
        format!("/dashboard/m/{}", shops[0]),
        format!("/dashboard/m/{}", shops[1]),
    );
    let mover_password = user_made(&mut ops, &ops_csrf, &shops[0], "mover@role.example");
    let (mut mover, _) = logged_in(&gateway, "mover@role.example", &mover_password, &a);
    let users = ops.get("/dashboard/users");
    let mover_id = row_user_id(&users, "mover@role.example");
    let row = row_of(&users, "mover@role.example");
    assert!(
        row.contains(&format!(r#"value="merchant:{}" selected"#, shops[0])),
        "the form shows the role in force: {row}"
    );
    assert!(!row_of(&users, "ops@example.com").contains("/role"));
    let role = format!("/dashboard/users/{mover_id}/role");
    let audit_count = |ops: &mut crate::dashboard::Visitor<'_>| {
        ops.get("/dashboard/audit")
            .text()
            .matches("user role changed")
            .count()
    };

    // Refused changes: no change, no row.
    let forged = ops.post(&role, &[("role", "operator")]);
    assert_eq!(forged.status, 403);
    let unknown = ops.post(&role, &[("csrf", &ops_csrf), ("role", "merchant:nope")]);
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    let same = ops.post(
        &role,
        &[
            ("csrf", &ops_csrf),
            ("role", &format!("merchant:{}", shops[0])),
        ],
    );
    assert_eq!(same.status, 400, "{}", same.text());
    let garbled = ops.post(&role, &[("csrf", &ops_csrf), ("role", "admin")]);
    assert_eq!(garbled.status, 400, "{}", garbled.text());
    let own = ops.post(
        "/dashboard/users/1/role",
        &[("csrf", &ops_csrf), ("role", "merchant:nope")],
    );
    assert_eq!(own.status, 400, "{}", own.text());
    assert_eq!(audit_count(&mut ops), 0);
    assert_eq!(mover.get(&a).status, 200, "the mover is still logged in");

    // To shop B: the session ends; the next login sees B, not A.
    let moved = ops.post(
        &role,
        &[
            ("csrf", &ops_csrf),
            ("role", &format!("merchant:{}", shops[1])),
        ],
    );
    assert_eq!(
        moved.header("location"),
        Some("/dashboard/users"),
        "{}",
        moved.text()
    );
    assert_eq!(mover.get(&a).header("location"), Some("/dashboard/login"));
    let (mut mover, _) = logged_in(&gateway, "mover@role.example", &mover_password, &b);
    assert_eq!(mover.get(&a).status, 404);
    assert_eq!(mover.get("/dashboard/users").status, 403);

    // An operator: the session ends again; the next login runs the console.
    let promoted = ops.post(&role, &[("csrf", &ops_csrf), ("role", "operator")]);
    assert_eq!(promoted.status, 303, "{}", promoted.text());
    assert_eq!(mover.get(&b).header("location"), Some("/dashboard/login"));
    let (mut mover, _) = logged_in(
        &gateway,
        "mover@role.example",
        &mover_password,
        "/dashboard",
    );
    assert_eq!(mover.get("/dashboard/users").status, 200);
    assert_eq!(mover.get(&a).status, 200);
    assert!(
        row_of(&ops.get("/dashboard/users"), "mover@role.example")
            .contains(r#"value="operator" selected"#)
    );

    assert_eq!(audit_count(&mut ops), 2);
    let audit = ops.get("/dashboard/audit").text().to_owned();
    assert!(
        audit.contains(&format!(
            "mover@role.example: merchant user of {} → merchant user of {}",
            shops[0], shops[1]
        )),
        "{audit}"
    );
}

/// Issue #20's delivery log: for each attempt its time, HTTP status, the
/// receiver's answer and the next retry's time, beside the body sent; the
/// developers page's list says when the webhook is tried next.
#[test]
fn the_delivery_log_shows_each_attempt_and_its_next_retry() {
    let failing = HttpStub::start(500, "down for maintenance");
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, ops_csrf) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");
    let shop = merchant_made(&mut ops, &ops_csrf, "Retry shop");
    let app_id = shop.app_id.clone();
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &app_id,
        "--url",
        &failing.url,
    ]);
    let to = permanent_address(&gateway, &shop, "user-1");
    pay_confirmed(&gateway, &to, "3");
    failing.wait_for_requests(1);

    let developers_path = format!("/dashboard/m/{app_id}/developers");
    // The first retry is 30 s after the first attempt: read before it.
    let developers = eventually(10, "the failed attempt in the log", || {
        let page = ops.get(&developers_path);
        if page.text().contains("<td>1</td>") {
            Ok(page)
        } else {
            Err(page.text().to_owned())
        }
    });
    let html = developers.text();
    assert!(html.contains("<th>Next attempt</th>"), "{html}");
    let marker = format!("/dashboard/m/{app_id}/webhooks/");
    let at = html.find(&marker).unwrap() + marker.len();
    let webhook_id = &html[at..at + html[at..].find('"').unwrap()];
    let detail = ops.get(&format!("{marker}{webhook_id}"));
    let text = detail.text();
    let next = {
        let open = r#"<dd id="next-attempt">"#;
        let from = text.find(open).unwrap_or_else(|| panic!("{text}")) + open.len();
        text[from..from + text[from..].find('<').unwrap()].to_owned()
    };
    assert!(next.ends_with(" UTC"), "a time while pending: {next}");
    assert!(
        html.contains(&format!("<td>{next}</td>")),
        "the list shows the next attempt {next}: {html}"
    );
    assert!(text.contains("paid_amount"), "the body sent: {text}");
    assert!(text.contains("<td>500</td>"), "the status: {text}");
    assert!(
        text.contains("<code>down for maintenance</code>"),
        "the answer: {text}"
    );
    assert!(
        text.contains(&format!(r#"<td class="next-retry">{next}</td>"#)),
        "the attempt's next retry: {text}"
    );
    let attempted = {
        let cells = "<td>1</td><td>";
        let row = &text[text.find(cells).unwrap() + cells.len()..];
        row[..row.find("</td>").unwrap()].to_owned()
    };
    assert!(
        attempted.ends_with(" UTC") && attempted < next,
        "{attempted} then {next}"
    );
}

/// Issue #20's browser steps not run elsewhere (decisions §34), in Chromium:
/// a devnet payment on the order's page with its confirmations, in the
/// orders list and on the overview; a webhook whose receiver failed resent
/// from the delivery log until delivered; a CSV export downloaded and
/// parsed; the operator's fee and users pages.
#[test]
fn payments_resent_webhooks_and_csv_downloads_in_a_real_browser() {
    let browser_dir = crate::checkout::browser_ready();
    let failing = HttpStub::start(500, "down");
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    let (mut ops, ops_csrf) = logged_in(&gateway, "ops@example.com", &password, "/dashboard");
    let shop = merchant_made(&mut ops, &ops_csrf, "Browser Shop");
    let app_id = shop.app_id.clone();
    let email = "owner@browser.example";
    let owner_password = user_made(&mut ops, &ops_csrf, &app_id, email);
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &app_id,
        "--url",
        &failing.url,
    ]);
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"browser-order"}}"#
    );
    let order = gateway.post_signed(&shop, "/ccpayment/v1/bill/create", body.as_bytes(), None);
    let pay_address = order.json()["data"]["pay_address"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", order.text()))
        .to_owned();

    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).unwrap();
    let pages = [
        "overview-operator",
        "users",
        "order-confirming",
        "order-paid",
        "orders-paid",
        "overview-paid",
        "webhook-failed",
        "webhook-resent",
    ];
    let shots: Vec<std::path::PathBuf> = pages
        .iter()
        .flat_map(|page| {
            ["desktop", "phone"]
                .map(|size| screenshots.join(format!("dashboard-{page}-{size}.png")))
        })
        .collect();
    for shot in &shots {
        // A stale picture from an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(shot);
    }
    let output = std::process::Command::new("node")
        .arg(browser_dir.join("dashboard_admin.mjs"))
        .arg(format!("http://{}", gateway.address()))
        .arg(format!("http://{}", gateway.admin.unwrap()))
        .arg("ops@example.com")
        .arg(&password)
        .arg(email)
        .arg(&owner_password)
        .arg(&app_id)
        .arg(&pay_address)
        .arg(&receiver.url)
        .arg(&screenshots)
        .env("CCGATE_ADMIN_TOKEN", gateway.admin_token())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(result["confirmations"].as_u64().unwrap() >= 12, "{result}");
    assert_eq!(
        result["order"]["merchant_order_id"], "browser-order",
        "{result}"
    );
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(size > 1_000, "{} is {size} bytes", shot.display());
    }
    // The failing receiver got the first attempt, the working one the resend.
    assert!(!failing.wait_for_requests(1).is_empty());
    let delivered = receiver.wait_for_requests(1);
    let sent = String::from_utf8_lossy(&delivered[0].body);
    assert!(sent.contains("browser-order"), "{sent}");
}
