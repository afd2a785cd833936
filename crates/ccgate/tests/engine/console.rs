//! The dashboard's sessions in process (decisions §23): the idle and the
//! absolute lifetime, at the times the test passes in, and what each role
//! may see, decided by the engine.

use ccgate_engine::EngineError;
use ccgate_engine::Rejection;
use ccgate_engine::console::{
    Actor, ConsoleConfig, ConsoleRefusal, Login, Viewer, Visit, generate_password,
};
use ccgate_ledger::MerchantId;
use ccgate_store::ConsoleRole;
use secrecy::{ExposeSecret, SecretString};

use crate::engine;

const T0: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

fn at(now_ms: i64) -> Visit<'static> {
    Visit {
        ip: "192.0.2.7",
        now_ms,
    }
}

/// Creates a user with `role` and logs it in at `now_ms`.
async fn logged_in(
    engine: &ccgate_testkit::Engine,
    email: &str,
    role: ConsoleRole,
    now_ms: i64,
) -> (SecretString, Viewer) {
    let console = &engine.state.console;
    let password = generate_password();
    console
        .create_user(Actor::Cli, email, &password, role, at(now_ms))
        .await
        .unwrap();
    match console
        .login(email, password, None, at(now_ms))
        .await
        .unwrap()
    {
        Login::Started { token, viewer } => (token, viewer),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_session_ends_when_idle_and_when_old() {
    let engine = engine().await;
    let console = &engine.state.console;
    let config = ConsoleConfig::default();
    let (token, _) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let token = token.expose_secret();

    // Used just within the idle lifetime, it lives on from that use.
    let last = T0 + config.idle_ms - 1;
    assert!(console.viewer(token, last).await.unwrap().is_some());
    assert!(
        console
            .viewer(token, last + config.idle_ms - 1)
            .await
            .unwrap()
            .is_some()
    );
    let last = last + config.idle_ms - 1;
    // Unused for the idle lifetime: it ends, and stays ended.
    assert!(
        console
            .viewer(token, last + config.idle_ms)
            .await
            .unwrap()
            .is_none()
    );
    assert!(console.viewer(token, last + 1).await.unwrap().is_none());

    // A session used every 20 minutes still ends at its absolute lifetime.
    let (token, _) = logged_in(&engine, "busy@example.com", ConsoleRole::Operator, T0).await;
    let token = token.expose_secret();
    let mut now = T0;
    while now + 20 * MINUTE < T0 + config.absolute_ms {
        now += 20 * MINUTE;
        assert!(
            console.viewer(token, now).await.unwrap().is_some(),
            "at {now}"
        );
    }
    assert!(
        console
            .viewer(token, T0 + config.absolute_ms)
            .await
            .unwrap()
            .is_none()
    );
}

fn refusal(error: EngineError) -> ConsoleRefusal {
    match error {
        EngineError::Rejected(Rejection::Console(refusal)) => refusal,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_merchant_user_sees_its_merchant_only() {
    let engine = engine().await;
    let console = &engine.state.console;
    let shop = engine.merchant("shop").await.unwrap();
    let other = engine.merchant("other shop").await.unwrap();
    let (_, operator) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let (_, user) = logged_in(
        &engine,
        "owner@shop.example",
        ConsoleRole::Merchant(MerchantId::new(shop.app_id.as_str())),
        T0,
    )
    .await;

    let seen: Vec<String> = console
        .merchants(&user)
        .await
        .unwrap()
        .iter()
        .map(|m| m.app_id.to_string())
        .collect();
    assert_eq!(seen, vec![shop.app_id.clone()]);
    assert_eq!(console.merchants(&operator).await.unwrap().len(), 2);
    assert!(seen.iter().all(|id| *id != other.app_id));

    assert_eq!(
        refusal(console.audit_log(&user, None, 10).await.unwrap_err()),
        ConsoleRefusal::OperatorsOnly
    );
    assert!(
        !console
            .audit_log(&operator, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Only operators make users; and a merchant user needs a real merchant.
    let made_by_user = console
        .create_user(
            Actor::User(&user),
            "friend@shop.example",
            &generate_password(),
            ConsoleRole::Merchant(MerchantId::new(shop.app_id.as_str())),
            at(T0),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(made_by_user), ConsoleRefusal::OperatorsOnly);
    let no_such_merchant = console
        .create_user(
            Actor::User(&operator),
            "ghost@example.com",
            &generate_password(),
            ConsoleRole::Merchant(MerchantId::new("000000000000000000000000000000000")),
            at(T0),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        refusal(no_such_merchant),
        ConsoleRefusal::Invalid(_)
    ));
}

/// Decisions §40: an operator changes a user's role; the user's live
/// session ends and its next login has the new role. A merchant user cannot
/// change roles, an operator not its own, and an unknown merchant or the
/// role a user has already is refused with no audit row.
#[tokio::test]
async fn an_operator_changes_a_users_role() {
    let engine = engine().await;
    let console = &engine.state.console;
    let shop = engine.merchant("shop").await.unwrap();
    let (_, operator) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let merchant_role = ConsoleRole::Merchant(MerchantId::new(shop.app_id.as_str()));
    let password = generate_password();
    console
        .create_user(
            Actor::Cli,
            "owner@shop.example",
            &password,
            merchant_role.clone(),
            at(T0),
        )
        .await
        .unwrap();
    let log_in = |now_ms| console.login("owner@shop.example", password.clone(), None, at(now_ms));
    let Login::Started {
        token,
        viewer: user,
    } = log_in(T0).await.unwrap()
    else {
        panic!("the owner logs in");
    };
    let token = token.expose_secret();
    let rows = || async {
        console
            .audit_log(&operator, None, 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.action == "user role changed")
            .count()
    };

    let refused = [
        console
            .set_user_role(&user, operator.user_id, merchant_role.clone(), at(T0))
            .await,
        console
            .set_user_role(&operator, operator.user_id, merchant_role.clone(), at(T0))
            .await,
        console
            .set_user_role(
                &operator,
                user.user_id,
                ConsoleRole::Merchant(MerchantId::new("nope")),
                at(T0),
            )
            .await,
        console
            .set_user_role(&operator, user.user_id, merchant_role.clone(), at(T0))
            .await,
    ];
    let refusals: Vec<ConsoleRefusal> = refused
        .into_iter()
        .map(|answer| refusal(answer.unwrap_err()))
        .collect();
    assert_eq!(refusals[0], ConsoleRefusal::OperatorsOnly);
    assert!(matches!(refusals[1], ConsoleRefusal::Invalid(_)));
    assert_eq!(refusals[2], ConsoleRefusal::NotFound);
    assert!(matches!(refusals[3], ConsoleRefusal::Invalid(_)));
    assert_eq!(rows().await, 0);
    assert!(console.viewer(token, T0).await.unwrap().is_some());

    console
        .set_user_role(
            &operator,
            user.user_id,
            ConsoleRole::Operator,
            at(T0 + MINUTE),
        )
        .await
        .unwrap();
    assert!(console.viewer(token, T0 + MINUTE).await.unwrap().is_none());
    let Login::Started { viewer: again, .. } = log_in(T0 + 2 * MINUTE).await.unwrap() else {
        panic!("the user logs in again");
    };
    assert_eq!(again.role, ConsoleRole::Operator);
    assert_eq!(rows().await, 1);
}

/// Decisions §34: an operator disables a user — its live session ends, its
/// right password is refused — and enables it again; it cannot disable
/// itself, and a merchant user cannot disable anyone. The users listing
/// says who is disabled, whose second factor is on and when each logged in.
#[tokio::test]
async fn an_operator_disables_and_enables_a_user() {
    let engine = engine().await;
    let console = &engine.state.console;
    let shop = engine.merchant("shop").await.unwrap();
    let (_, operator) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let role = ConsoleRole::Merchant(MerchantId::new(shop.app_id.as_str()));
    let password = generate_password();
    console
        .create_user(Actor::Cli, "owner@shop.example", &password, role, at(T0))
        .await
        .unwrap();
    let log_in = |now_ms| console.login("owner@shop.example", password.clone(), None, at(now_ms));
    let Login::Started {
        token,
        viewer: user,
    } = log_in(T0).await.unwrap()
    else {
        panic!("the owner logs in");
    };
    let token = token.expose_secret();

    assert_eq!(
        refusal(
            console
                .set_user_disabled(&user, operator.user_id, true, at(T0))
                .await
                .unwrap_err()
        ),
        ConsoleRefusal::OperatorsOnly
    );
    assert!(matches!(
        refusal(
            console
                .set_user_disabled(&operator, operator.user_id, true, at(T0))
                .await
                .unwrap_err()
        ),
        ConsoleRefusal::Invalid(_)
    ));
    assert_eq!(
        refusal(
            console
                .set_user_disabled(&operator, 999_999, true, at(T0))
                .await
                .unwrap_err()
        ),
        ConsoleRefusal::NotFound
    );

    console
        .set_user_disabled(&operator, user.user_id, true, at(T0 + MINUTE))
        .await
        .unwrap();
    assert!(console.viewer(token, T0 + MINUTE).await.unwrap().is_none());
    assert!(matches!(
        log_in(T0 + 2 * MINUTE).await.unwrap(),
        Login::Refused
    ));
    let listed = console.users(&operator).await.unwrap();
    let owner = listed
        .iter()
        .find(|listing| listing.user.id == user.user_id)
        .unwrap();
    assert_eq!(owner.user.disabled_at_ms, Some(T0 + MINUTE));
    assert_eq!(owner.user.last_login_ms, Some(T0));
    assert!(!owner.second_factor);
    assert_eq!(
        refusal(console.users(&user).await.unwrap_err()),
        ConsoleRefusal::OperatorsOnly
    );

    console
        .set_user_disabled(&operator, user.user_id, false, at(T0 + 3 * MINUTE))
        .await
        .unwrap();
    assert!(matches!(
        log_in(T0 + 4 * MINUTE).await.unwrap(),
        Login::Started { .. }
    ));
    let actions: Vec<String> = console
        .audit_log(&operator, None, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|row| format!("{}: {}", row.action, row.detail))
        .collect();
    assert!(
        actions.contains(&"user disabled: owner@shop.example".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"user enabled: owner@shop.example".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"login refused: the user is disabled".to_owned()),
        "{actions:?}"
    );
}

/// Decisions §34: the operator sets a merchant's service fee as a
/// percentage (the setting `ccgate merchant set-fee` writes), audited;
/// merchant users may not, and a fee that is no percentage is refused.
#[tokio::test]
async fn an_operator_sets_a_merchants_service_fee() {
    let engine = engine().await;
    let console = &engine.state.console;
    let shop = engine.merchant("shop").await.unwrap();
    let (_, operator) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let (_, user) = logged_in(
        &engine,
        "owner@shop.example",
        ConsoleRole::Merchant(MerchantId::new(shop.app_id.as_str())),
        T0,
    )
    .await;
    assert_eq!(
        refusal(
            console
                .set_service_fee(&user, &shop.app_id, "1", at(T0))
                .await
                .unwrap_err()
        ),
        ConsoleRefusal::OperatorsOnly
    );
    for bad in ["100.5", "0.00001", "-1", "many"] {
        assert!(matches!(
            refusal(
                console
                    .set_service_fee(&operator, &shop.app_id, bad, at(T0))
                    .await
                    .unwrap_err()
            ),
            ConsoleRefusal::Invalid(_)
        ));
    }
    console
        .set_service_fee(&operator, &shop.app_id, "0.25", at(T0))
        .await
        .unwrap();
    let seen = console.developers(&user, &shop.app_id).await.unwrap();
    assert_eq!(seen.settings.service_fee_ppm, 2_500);
    let last = console.audit_log(&operator, None, 1).await.unwrap();
    assert_eq!(last[0].action, "service fee set");
    assert_eq!(last[0].detail, "0.25 % (2500 ppm)");
}

/// Decisions §36: the overview counts every order by the state the API
/// reports — more than the 100 it once read — and an order turns Expired by
/// time alone, with no write.
#[tokio::test]
async fn the_overview_counts_every_order_by_its_state() {
    use ccgate_engine::orders::OrderStatus;

    const ORDERS: usize = 102;
    let engine = engine().await;
    let console = &engine.state.console;
    let shop = engine.merchant("shop").await.unwrap();
    let (_, operator) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let mut first_address = String::new();
    for i in 0..ORDERS {
        let body = format!(
            r#"{{"token_id":"{}","product_price":"10","merchant_order_id":"o-{i}","denominated_currency":"USD","order_valid_period":1800}}"#,
            crate::USDT_ERC20
        );
        let created = crate::post(&engine, &shop, "bill/create", &body).await;
        assert_eq!(created["code"], 10000, "{created}");
        if i == 0 {
            first_address = created["data"]["pay_address"].as_str().unwrap().to_owned();
        }
    }
    crate::pay_usdt(&engine, &first_address, "10").await;
    engine.mine("ETH", 12).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!(ticked.credited, 1, "{ticked:?}");

    let (operator, app_id) = (&operator, shop.app_id.as_str());
    let states = |now_ms| async move {
        console
            .overview(operator, app_id, now_ms)
            .await
            .unwrap()
            .order_states
    };
    let now = engine.now_ms();
    assert_eq!(
        states(now).await,
        [
            (OrderStatus::Pending, 101),
            (OrderStatus::Processing, 0),
            (OrderStatus::Successful, 1),
            (OrderStatus::Expired, 0),
        ]
    );
    // Half an hour and a bit later, nothing written: the unpaid ones expired.
    assert_eq!(
        states(now + 1_802_000).await,
        [
            (OrderStatus::Pending, 0),
            (OrderStatus::Processing, 0),
            (OrderStatus::Successful, 1),
            (OrderStatus::Expired, 101),
        ]
    );
    // What the API says of the paid one and of an unpaid one.
    let info = crate::post(
        &engine,
        &shop,
        "bill/info",
        r#"{"merchant_order_ids":["o-0","o-1"]}"#,
    )
    .await;
    let status_of = |id: &str| {
        info["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|order| order["order_detail"]["merchant_order_id"] == id)
            .map(|order| order["order_detail"]["status"].clone())
    };
    assert_eq!(status_of("o-0"), Some("Successful".into()));
    assert_eq!(status_of("o-1"), Some("Pending".into()));
}

/// Decisions §36: each developers-page action leaves exactly one audit row,
/// committed with its change (the test webhook's before its POST), and an
/// action refused leaves none.
#[tokio::test]
async fn each_developers_action_leaves_one_audit_row() {
    let engine = engine().await;
    let console = &engine.state.console;
    let receiver = ccgate_testkit::Receiver::start(200, "success")
        .await
        .unwrap();
    let shop = engine.merchant("shop").await.unwrap();
    let (_, operator) = logged_in(&engine, "ops@example.com", ConsoleRole::Operator, T0).await;
    let (_, user) = logged_in(
        &engine,
        "owner@shop.example",
        ConsoleRole::Merchant(MerchantId::new(shop.app_id.as_str())),
        T0,
    )
    .await;
    let actions = || async {
        console
            .audit_log(&operator, None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.actor == "owner@shop.example" && row.action != "login")
            .map(|row| row.action)
            .collect::<Vec<_>>()
    };
    let sender = engine.state.webhook_sender.clone().unwrap();
    // A deposit, so that there is a webhook to resend (the URL set as the
    // CLI sets it: no audit row).
    engine.set_webhook(&shop, &receiver.url).await.unwrap();
    let body = format!(
        r#"{{"token_id":"{}","product_price":"10","merchant_order_id":"o-1","denominated_currency":"USD"}}"#,
        crate::USDT_ERC20
    );
    let created = crate::post(&engine, &shop, "bill/create", &body).await;
    let address = created["data"]["pay_address"].as_str().unwrap().to_owned();
    crate::pay_usdt(&engine, &address, "10").await;
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(engine.now_ms()).await.unwrap();

    // Refused: a URL that is none, another merchant's secret. Nothing is
    // written.
    assert!(
        console
            .set_webhook_url(&user, &shop.app_id, "not a url", at(T0))
            .await
            .is_err()
    );
    let other = engine.merchant("other shop").await.unwrap();
    assert!(
        console
            .rotate_secret(&user, &other.app_id, at(T0))
            .await
            .is_err()
    );
    assert!(actions().await.is_empty());

    console
        .set_webhook_url(&user, &shop.app_id, &receiver.url, at(T0))
        .await
        .unwrap();
    let answer = console
        .send_test_webhook(&user, &shop.app_id, &sender, at(T0 + 1))
        .await
        .unwrap();
    assert!(answer.acknowledged, "{}", answer.outcome);
    console
        .rotate_secret(&user, &shop.app_id, at(T0 + 2))
        .await
        .unwrap();
    assert_eq!(
        actions().await,
        ["secret rotated", "test webhook sent", "webhook URL set"]
    );

    let developers = console.developers(&user, &shop.app_id).await.unwrap();
    let webhook = developers
        .webhooks
        .first()
        .expect("the deposit's webhook")
        .id;
    console
        .resend_webhook(&user, &shop.app_id, webhook, at(T0 + 3))
        .await
        .unwrap();
    assert_eq!(
        actions().await,
        [
            "webhook resent",
            "secret rotated",
            "test webhook sent",
            "webhook URL set"
        ]
    );
}

/// Decisions §36: what `serve` purges each minute — a session past its
/// idle lifetime, and failed logins past the throttle's window — goes; a
/// live session stays and still works.
#[tokio::test]
async fn expired_sessions_and_old_failed_logins_are_purged() {
    let engine = engine().await;
    let console = &engine.state.console;
    let config = ConsoleConfig::default();
    let (left, _) = logged_in(&engine, "left@example.com", ConsoleRole::Operator, T0).await;
    let later = T0 + config.idle_ms;
    let (live, _) = logged_in(&engine, "live@example.com", ConsoleRole::Operator, later).await;
    let refused = console
        .login(
            "live@example.com",
            SecretString::from("wrong password!"),
            None,
            at(T0),
        )
        .await
        .unwrap();
    assert!(matches!(refused, Login::Refused), "{refused:?}");

    // The expired session, and the failure older than the window: two rows.
    let purged = console
        .purge_expired(T0 + config.idle_ms.max(config.failure_window_ms))
        .await
        .unwrap();
    assert_eq!(purged, 2);
    assert_eq!(console.purge_expired(later).await.unwrap(), 0);
    assert!(
        console
            .viewer(live.expose_secret(), later + 1)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        console
            .viewer(left.expose_secret(), T0 + 1)
            .await
            .unwrap()
            .is_none(),
        "a purged session is gone even if its time is rewound"
    );
}
