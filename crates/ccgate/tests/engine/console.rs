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
