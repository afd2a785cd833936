//! The dashboard's wallet-system and operator pages over real HTTP against
//! the real binary in sandbox mode (decisions §30): every new route answers
//! each role as authorised, the pages show what the engine holds, the
//! sandbox's controls act and are audited, the demo login exists only in a
//! sandbox, and a browser run checks the pages' accessibility and layout.

use serde_json::Value;

use crate::dashboard::{
    Answer, Route, Visitor, answer_of, create_user, csrf_of, csv_rows, logged_in, merchant_made,
    screenshots_dir, user_made,
};
use crate::support::Gateway;

/// `ccgate trigger NAME` for the merchant in v2, and its JSON report.
fn trigger(gateway: &Gateway, app_id: &str, name: &str) -> Value {
    serde_json::from_str(&gateway.cli_ok(&[
        "trigger",
        name,
        "--app-id",
        app_id,
        "--dialect",
        "v2",
        "--json",
    ]))
    .unwrap()
}

/// A sandbox whose demo merchant has wallet users (a deposit and a
/// transfer), a swap of its own and a completed batch withdrawal; an
/// operator; and the batch's order id.
struct Scene {
    gateway: Gateway,
    app_id: String,
    operator_password: String,
    batch_order_id: String,
}

fn scene() -> Scene {
    let gateway = Gateway::start(&["--sandbox"]);
    let app_id = gateway.demo.clone().unwrap().app_id;
    let operator_password = create_user(&gateway, &["--operator", "--email", "ops@example.com"]);
    trigger(&gateway, &app_id, "user.deposit");
    let transferred = trigger(&gateway, &app_id, "user.transfer");
    assert_eq!(
        transferred["objects"]["available"]["trigger-wallet-user-2"], "5",
        "{transferred}"
    );
    trigger(&gateway, &app_id, "swap.succeeded");
    let batch = trigger(&gateway, &app_id, "batch_withdrawal.completed");
    let batch_order_id = batch["objects"]["batch"]["batchOrderId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(batch["objects"]["batch"]["status"], "Completed", "{batch}");
    Scene {
        gateway,
        app_id,
        operator_password,
        batch_order_id,
    }
}

#[test]
fn wallet_and_operator_routes_answer_every_role_as_authorised() {
    use Answer::{Done, Forbidden, NotFound, Page, ToLogin};
    let scene = scene();
    let gateway = &scene.gateway;
    let (mut ops, ops_csrf) = logged_in(
        gateway,
        "ops@example.com",
        &scene.operator_password,
        "/dashboard",
    );
    let other_app_id = merchant_made(&mut ops, &ops_csrf, "Other shop").app_id;
    let owner_password = user_made(&mut ops, &ops_csrf, &scene.app_id, "owner@shop.example");
    let other_password = user_made(&mut ops, &ops_csrf, &other_app_id, "owner@other.example");
    let m = format!("/dashboard/m/{}", scene.app_id);
    let (mut owner, owner_csrf) = logged_in(gateway, "owner@shop.example", &owner_password, &m);
    let (mut other, other_csrf) = logged_in(
        gateway,
        "owner@other.example",
        &other_password,
        &format!("/dashboard/m/{other_app_id}"),
    );
    let mut anonymous = Visitor::new(gateway);
    // A snapshot for the restore row, saved with every session in it.
    let saved = ops.post(
        "/dashboard/sandbox/snapshots/save",
        &[("csrf", &ops_csrf), ("name", "before-table")],
    );
    assert_eq!(saved.status, 303, "{}", saved.text());
    let app_id = scene.app_id.as_str();

    // Route, form fields besides the CSRF token, and the answer of:
    // anonymous, the other merchant's user, the merchant's user, an operator.
    let merchant_page = [ToLogin, NotFound, Page, Page];
    let operator_page = [ToLogin, Forbidden, Forbidden, Page];
    let operator_action = [ToLogin, Forbidden, Forbidden, Done];
    let table: Vec<Route> = vec![
        ("GET", format!("{m}/wallet-users"), vec![], merchant_page),
        (
            "GET",
            format!("{m}/wallet-users?after=trigger-wallet-user"),
            vec![],
            merchant_page,
        ),
        (
            "GET",
            format!("{m}/wallet-users/trigger-wallet-user"),
            vec![],
            merchant_page,
        ),
        ("GET", format!("{m}/swaps"), vec![], merchant_page),
        ("GET", format!("{m}/swaps?of=users"), vec![], merchant_page),
        (
            "GET",
            format!("{m}/batch-withdrawals"),
            vec![],
            merchant_page,
        ),
        (
            "GET",
            format!("{m}/batch-withdrawals/{}", scene.batch_order_id),
            vec![],
            merchant_page,
        ),
        ("GET", "/dashboard/accounts".into(), vec![], operator_page),
        ("GET", "/dashboard/chains".into(), vec![], operator_page),
        ("GET", "/dashboard/incidents".into(), vec![], operator_page),
        ("GET", "/dashboard/sandbox".into(), vec![], operator_page),
        (
            "POST",
            "/dashboard/sandbox/advance".into(),
            vec![("seconds", "60")],
            operator_action,
        ),
        (
            "POST",
            "/dashboard/sandbox/trigger".into(),
            vec![
                ("name", "deposit.direct"),
                ("app_id", app_id),
                ("dialect", "v2"),
            ],
            [ToLogin, Forbidden, Forbidden, Page],
        ),
        (
            "POST",
            "/dashboard/sandbox/faults".into(),
            vec![("app_id", app_id), ("faults", "status=500"), ("count", "1")],
            operator_action,
        ),
        (
            "POST",
            "/dashboard/sandbox/faults/clear".into(),
            vec![("app_id", app_id)],
            operator_action,
        ),
        (
            "POST",
            "/dashboard/sandbox/snapshots/save".into(),
            vec![("name", "from-table")],
            operator_action,
        ),
        (
            "POST",
            "/dashboard/sandbox/snapshots/restore".into(),
            vec![("name", "before-table")],
            operator_action,
        ),
    ];
    let mut checked = 0;
    for (method, path, fields, expected) in &table {
        let visitors: [(&mut Visitor, &str); 4] = [
            (&mut anonymous, "none"),
            (&mut other, &other_csrf),
            (&mut owner, &owner_csrf),
            (&mut ops, &ops_csrf),
        ];
        for (role, ((visitor, csrf), want)) in visitors.into_iter().zip(expected).enumerate() {
            let response = if *method == "GET" {
                visitor.get(path)
            } else {
                let mut all = vec![("csrf", csrf)];
                all.extend(fields.iter().copied());
                visitor.post(path, &all)
            };
            assert_eq!(
                answer_of(&response),
                *want,
                "{method} {path} as role {role}: {}",
                response.text()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 17 * 4);
    // A user or batch of this merchant asked under the other merchant is
    // not found, as is a user or batch that does not exist.
    for path in [
        format!("/dashboard/m/{other_app_id}/wallet-users/trigger-wallet-user"),
        format!(
            "/dashboard/m/{other_app_id}/batch-withdrawals/{}",
            scene.batch_order_id
        ),
        format!("{m}/wallet-users/nobody-here"),
        format!("{m}/wallet-users/{app_id}"),
        format!("{m}/batch-withdrawals/no-such-batch"),
    ] {
        assert_eq!(ops.get(&path).status, 404, "{path}");
    }
    // The restore kept the sessions saved with it; the snapshot saved
    // after it is gone with the state it replaced, but its file stays.
    let sandbox = ops.get("/dashboard/sandbox");
    assert_eq!(sandbox.status, 200);
    assert!(sandbox.text().contains("from-table"), "{}", sandbox.text());
    let audit = ops.get("/dashboard/audit").text().to_owned();
    assert!(audit.contains("sandbox snapshot restored"), "{audit}");
}

#[test]
fn the_pages_show_the_wallet_system_the_books_and_the_sandbox() {
    let scene = scene();
    let gateway = &scene.gateway;
    let (mut ops, ops_csrf) = logged_in(
        gateway,
        "ops@example.com",
        &scene.operator_password,
        "/dashboard",
    );
    let m = format!("/dashboard/m/{}", scene.app_id);

    let users = ops.get(&format!("{m}/wallet-users"));
    let text = users.text();
    assert!(text.contains("trigger-wallet-user-2"), "{text}");
    assert!(text.contains("194.94 USDT"), "{text}");
    assert!(text.contains("5 USDT"), "{text}");
    assert!(!text.contains("More users"), "one page holds two users");

    let user = ops.get(&format!("{m}/wallet-users/trigger-wallet-user"));
    let text = user.text();
    assert_eq!(user.status, 200, "{text}");
    assert!(text.contains("194.94 USDT"), "{text}");
    // Its two deposits (one per trigger run) and the transfer it sent.
    assert_eq!(text.matches("<td>100 USDT</td>").count(), 2, "{text}");
    assert!(text.contains("trigger-wallet-user-2"), "{text}");
    let received = ops.get(&format!("{m}/wallet-users/trigger-wallet-user-2"));
    assert!(received.text().contains("trigger-wallet-user</td>"));
    assert!(text.contains("No withdrawals here."), "{text}");

    // A user's withdrawal is on its page (decisions §35), not among the
    // merchant's own withdrawals; the operator's list labels it.
    let withdrawn = trigger(gateway, &scene.app_id, "user.withdrawal.succeeded");
    let order_id = withdrawn["objects"]["withdrawal"]["orderId"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = ops.get(&format!("{m}/wallet-users/trigger-wallet-user"));
    let text = user.text();
    let row = format!(r#"<td>successful</td><td class="id">{order_id}</td>"#);
    assert!(text.contains(&row), "{row}: {text}");
    assert!(text.contains("<td>5 USDT</td>"), "{text}");
    let merchant_withdrawals = ops.get(&format!("{m}/withdrawals"));
    assert_eq!(merchant_withdrawals.status, 200);
    let record_id = withdrawn["objects"]["withdrawal"]["recordId"]
        .as_str()
        .unwrap();
    assert!(
        !merchant_withdrawals.text().contains(record_id),
        "{}",
        merchant_withdrawals.text()
    );
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["withdrawal", "list", "--json"])).unwrap();
    let listed_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["record_id"] == record_id)
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(listed_row["kind"], "user withdrawal (trigger-wallet-user)");
    let exported = csv_rows(&ops.get(&format!(
        "{m}/export?kind=withdrawals&from=2000-01-01&to=2099-12-31"
    )));
    let exported_row = exported
        .iter()
        .find(|row| row["record_id"] == record_id)
        .unwrap_or_else(|| panic!("{exported:?}"));
    assert_eq!(exported_row["user_id"], "trigger-wallet-user");

    let swaps = ops.get(&format!("{m}/swaps"));
    assert!(swaps.text().contains("USDT"), "{}", swaps.text());
    assert!(!swaps.text().contains("No swaps here."), "{}", swaps.text());
    let user_swaps = ops.get(&format!("{m}/swaps?of=users"));
    assert!(user_swaps.text().contains("No swaps here."));

    let batches = ops.get(&format!("{m}/batch-withdrawals"));
    assert!(batches.text().contains(&scene.batch_order_id));
    assert!(batches.text().contains("Completed"), "{}", batches.text());
    let batch = ops.get(&format!("{m}/batch-withdrawals/{}", scene.batch_order_id));
    let text = batch.text();
    assert!(
        text.contains(r#"<dd id="batch-status">Completed</dd>"#),
        "{text}"
    );
    assert_eq!(text.matches("<td>Success</td>").count(), 2, "{text}");

    let accounts = ops.get("/dashboard/accounts");
    let text = accounts.text();
    for account in ["custody:ETH", "operator:fees", "operator:treasury"] {
        assert!(text.contains(account), "{account}: {text}");
    }
    let chains = ops.get("/dashboard/chains");
    let text = chains.text();
    assert!(text.contains("<td>ETH</td><td>devnet</td>"), "{text}");
    let incidents = ops.get("/dashboard/incidents");
    assert!(incidents.text().contains("No incidents."));

    // The clock moves by an hour, and a fault set and cleared is audited.
    let before = ops.get("/dashboard/sandbox").text().to_owned();
    let advanced = ops.post(
        "/dashboard/sandbox/advance",
        &[("csrf", &ops_csrf), ("seconds", "3600")],
    );
    assert_eq!(advanced.header("location"), Some("/dashboard/sandbox"));
    let clock = |page: &str| {
        let at = page.find(r#"<dd id="sandbox-now">"#).unwrap();
        page[at..at + 60].to_owned()
    };
    let after = ops.get("/dashboard/sandbox").text().to_owned();
    assert_ne!(clock(&before), clock(&after));
    let fired = ops.post(
        "/dashboard/sandbox/trigger",
        &[
            ("csrf", &ops_csrf),
            ("name", "user.deposit"),
            ("app_id", &scene.app_id),
            ("dialect", "v1"),
        ],
    );
    assert_eq!(fired.status, 400, "v1 has no wallet users");
    assert!(fired.text().contains("v2 only"), "{}", fired.text());
    let faults = ops.post(
        "/dashboard/sandbox/faults",
        &[
            ("csrf", &ops_csrf),
            ("app_id", &scene.app_id),
            ("faults", "sometimes"),
            ("count", ""),
        ],
    );
    assert_eq!(faults.status, 400, "unknown fault words are refused");
    for (path, fields) in [
        (
            "/dashboard/sandbox/faults",
            vec![("faults", "status=503 drop=0.5")],
        ),
        ("/dashboard/sandbox/faults/clear", vec![]),
    ] {
        let mut all = vec![("csrf", ops_csrf.as_str()), ("app_id", &scene.app_id)];
        all.extend(fields);
        assert_eq!(ops.post(path, &all).status, 303, "{path}");
    }
    let audit = ops.get("/dashboard/audit").text().to_owned();
    for action in [
        "sandbox clock advanced",
        "sandbox webhook faults set",
        "sandbox webhook faults cleared",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    assert!(audit.contains("status=503"), "{audit}");
}

#[test]
fn the_demo_login_is_a_sandbox_s_only() {
    let sandbox = Gateway::start(&["--sandbox"]);
    let mut visitor = Visitor::new(&sandbox);
    let login = visitor.get("/dashboard/login");
    assert!(login.text().contains("Log in as the demo operator"));
    let csrf = csrf_of(&login);
    // Without the login form's token it is refused like a login.
    let forged = Visitor::new(&sandbox).post("/dashboard/demo-login", &[("csrf", &csrf)]);
    assert_eq!(forged.status, 403);
    let started = visitor.post("/dashboard/demo-login", &[("csrf", &csrf)]);
    assert_eq!(started.status, 303, "{}", started.text());
    assert_eq!(started.header("location"), Some("/dashboard"));
    let first_session = visitor.session().unwrap().to_owned();
    assert_eq!(visitor.get("/dashboard/sandbox").status, 200);
    let audit = visitor.get("/dashboard/audit").text().to_owned();
    assert!(audit.contains("demo login"), "{audit}");
    // Again: the same demo user, a new session.
    let csrf = csrf_of(&visitor.get("/dashboard/login"));
    assert_eq!(
        visitor
            .post("/dashboard/demo-login", &[("csrf", &csrf)])
            .status,
        303
    );
    assert_ne!(visitor.session(), Some(first_session.as_str()));

    let live_like = Gateway::start(&[]);
    let password = create_user(&live_like, &["--operator", "--email", "ops@example.com"]);
    let mut visitor = Visitor::new(&live_like);
    let login = visitor.get("/dashboard/login");
    assert!(!login.text().contains("demo"), "{}", login.text());
    let csrf = csrf_of(&login);
    assert_eq!(
        visitor
            .post("/dashboard/demo-login", &[("csrf", &csrf)])
            .status,
        404
    );
    let (mut ops, ops_csrf) = logged_in(&live_like, "ops@example.com", &password, "/dashboard");
    assert_eq!(ops.get("/dashboard/sandbox").status, 404);
    assert_eq!(
        ops.post(
            "/dashboard/sandbox/advance",
            &[("csrf", &ops_csrf), ("seconds", "60")]
        )
        .status,
        404
    );
    // The operator's other pages are served without a sandbox.
    assert_eq!(ops.get("/dashboard/chains").status, 200);
}

#[test]
fn the_wallet_and_operator_pages_in_a_real_browser() {
    let browser_dir = crate::checkout::browser_ready();
    let scene = scene();
    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).unwrap();
    let pages = [
        "demo-login",
        "chains",
        "accounts",
        "incidents",
        "sandbox",
        "trigger-report",
        "wallet-users",
        "wallet-user",
        "swaps",
        "batch-withdrawals",
        "batch-withdrawal",
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
        .arg(browser_dir.join("dashboard_views.mjs"))
        .arg(format!("http://{}", scene.gateway.address()))
        .arg(&scene.app_id)
        .arg(&scene.batch_order_id)
        .arg(&screenshots)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    for shot in &shots {
        let size = std::fs::metadata(shot).unwrap().len();
        assert!(size > 1_000, "{} is {size} bytes", shot.display());
    }
    eprintln!("screenshots kept in {}", screenshots.display());
    // The clock the browser advanced moved business time by a day.
    let moved = result["advancedBySeconds"].as_i64().unwrap();
    assert!((86_400..86_400 + 600).contains(&moved), "{result}");
}
