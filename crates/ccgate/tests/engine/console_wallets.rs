//! The dashboard's wallet-system pages in process (decisions §30): the
//! `Console` pages a merchant's users 50 at a time and a user's transfers,
//! sent and received, 20 at a time, each page after the last row of the one
//! before, with nothing skipped or shown twice; and another merchant's user
//! finds none of it.

use ccgate_engine::EngineError;
use ccgate_engine::Rejection;
use ccgate_engine::console::{
    Actor, ConsoleRefusal, Login, RECORDS_PER_PAGE, UserPageCursors, Viewer, Visit,
    WALLET_USERS_PER_PAGE, generate_password,
};
use ccgate_engine::wallets::TransferRequest;
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use ccgate_store::{ConsoleRole, EntryMeta, Store};

use crate::{USDT, engine};

fn visit(now_ms: i64) -> Visit<'static> {
    Visit {
        ip: "192.0.2.9",
        now_ms,
    }
}

async fn viewer_of(engine: &ccgate_testkit::Engine, email: &str, app_id: &str) -> Viewer {
    let console = &engine.state.console;
    let password = generate_password();
    let role = ConsoleRole::Merchant(MerchantId::new(app_id));
    let now_ms = engine.now_ms();
    console
        .create_user(Actor::Cli, email, &password, role, visit(now_ms))
        .await
        .unwrap();
    match console
        .login(email, password, None, visit(now_ms))
        .await
        .unwrap()
    {
        Login::Started { viewer, .. } => viewer,
        other => panic!("{other:?}"),
    }
}

fn not_found<T: std::fmt::Debug>(refused: Result<T, EngineError>) {
    assert!(
        matches!(
            refused,
            Err(EngineError::Rejected(Rejection::Console(
                ConsoleRefusal::NotFound
            )))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn users_and_a_users_transfers_are_paged_without_gaps_or_repeats() {
    let engine = engine().await;
    let shop = engine.merchant("Wallet shop").await.unwrap();
    let elsewhere = engine.merchant("Elsewhere").await.unwrap();
    let app_id = MerchantId::new(shop.app_id.as_str());
    let usdt = engine.state.registry.coin(&CoinId::new(USDT)).unwrap();
    let units = |text: &str| Amount::parse_decimal(text, usdt.precision).unwrap();
    let float = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::MerchantAvailable(app_id.clone()),
        usdt.id.clone(),
        units("1000"),
    )
    .unwrap();
    let meta = EntryMeta {
        kind: "adjustment",
        reason: "float".into(),
        created_at: engine.now_ms() / 1000,
    };
    engine.backend.post_entry(&float, &meta).await.unwrap();

    // 55 users, each funded by the merchant (user-000 with 20, the others
    // with 1); then user-000 sends 12 transfers of 1 to user-001, which
    // sends 10 back: user-000 has 1 + 12 + 10 = 23 transfers.
    let users: Vec<String> = (0..55).map(|n| format!("user-{n:03}")).collect();
    let mut moves: Vec<(String, String, String, &str)> = Vec::new();
    for user in &users {
        let amount = if user == "user-000" { "20" } else { "1" };
        moves.push((
            format!("fund-{user}"),
            shop.app_id.clone(),
            user.clone(),
            amount,
        ));
    }
    for n in 0..12 {
        moves.push((format!("a-{n}"), "user-000".into(), "user-001".into(), "1"));
    }
    for n in 0..10 {
        moves.push((format!("b-{n}"), "user-001".into(), "user-000".into(), "1"));
    }
    let mut now_ms = engine.now_ms();
    for (order_id, from, to, amount) in &moves {
        now_ms += 1;
        let request = TransferRequest {
            order_id,
            from_user: from,
            to_user: to,
            coin: usdt,
            amount,
            remark: "",
        };
        engine
            .state
            .wallets
            .transfer(&app_id, &request, now_ms)
            .await
            .unwrap();
    }

    let console = &engine.state.console;
    let wallets = &*engine.state.wallets;
    let owner = viewer_of(&engine, "owner@shop.example", &shop.app_id).await;
    let first = console
        .wallet_users(&owner, &shop.app_id, wallets, None)
        .await
        .unwrap();
    assert_eq!(first.users.len(), WALLET_USERS_PER_PAGE as usize);
    let after = first.next_after.clone().unwrap();
    assert_eq!(after, "user-049");
    let second = console
        .wallet_users(&owner, &shop.app_id, wallets, Some(&after))
        .await
        .unwrap();
    assert_eq!(second.next_after, None);
    let listed: Vec<String> = first
        .users
        .iter()
        .chain(&second.users)
        .map(|(user, _)| user.user_id.clone())
        .collect();
    assert_eq!(listed, users);
    // user-000 received 20 + 10 and sent 12; user-002 holds its 1.
    let held = |user_id: &str| {
        first
            .users
            .iter()
            .find(|(user, _)| user.user_id == user_id)
            .map(|(_, balances)| balances.clone())
            .unwrap()
    };
    assert_eq!(held("user-000"), vec![(usdt, units("18"))]);
    assert_eq!(held("user-002"), vec![(usdt, units("1"))]);

    let services = (wallets, &*engine.state.swaps);
    let newest = console
        .wallet_user(
            &owner,
            &shop.app_id,
            "user-000",
            services,
            &UserPageCursors::default(),
        )
        .await
        .unwrap();
    assert_eq!(newest.transfers.len(), RECORDS_PER_PAGE as usize);
    let before = newest.next.transfers_before.clone().unwrap();
    let oldest = console
        .wallet_user(
            &owner,
            &shop.app_id,
            "user-000",
            services,
            &UserPageCursors {
                transfers_before: Some(before),
                ..UserPageCursors::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(oldest.next.transfers_before, None);
    let orders: Vec<&str> = newest
        .transfers
        .iter()
        .chain(&oldest.transfers)
        .map(|t| t.order_id.as_str())
        .collect();
    let mut expected: Vec<String> = vec!["fund-user-000".to_owned()];
    expected.extend((0..12).map(|n| format!("a-{n}")));
    expected.extend((0..10).map(|n| format!("b-{n}")));
    expected.reverse();
    assert_eq!(orders, expected);

    // Another merchant's user: not found, for the list and the user alike;
    // and a user that never came into being is not found either.
    let stranger = viewer_of(&engine, "owner@elsewhere.example", &elsewhere.app_id).await;
    not_found(
        console
            .wallet_users(&stranger, &shop.app_id, wallets, None)
            .await,
    );
    not_found(
        console
            .wallet_user(
                &stranger,
                &shop.app_id,
                "user-000",
                services,
                &UserPageCursors::default(),
            )
            .await,
    );
    not_found(
        console
            .wallet_user(
                &owner,
                &shop.app_id,
                "nobody-here",
                services,
                &UserPageCursors::default(),
            )
            .await,
    );
}
