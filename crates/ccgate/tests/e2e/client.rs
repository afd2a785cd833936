//! The Rust client crate against the real binary: one scenario per endpoint
//! group, webhooks verified and typed, and `ccgate call`.

use ccgate_client::{
    BillInfoItem, CheckoutUrl, Client, ClientError, CreateOrder, Webhook, WebhookHeaders, Withdraw,
    verify_webhook,
};

use crate::support::{Gateway, HttpStub, USDT_ERC20, now, pay_confirmed};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_client_crate_speaks_to_every_endpoint_group() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let base = format!("http://{}", gateway.address());
    let client = Client::new(base.as_str(), &merchant.app_id, &merchant.app_secret).unwrap();
    runtime().block_on(async {
        // Resources.
        let coins = client.coin_all().await.unwrap();
        assert_eq!(coins.list[2].symbol, "USDT");
        assert_eq!(client.support_token().await.unwrap().list.len(), 11);
        assert_eq!(client.token_chain(USDT_ERC20).await.unwrap().list.len(), 4);
        assert_eq!(
            client.token_rate("10", USDT_ERC20).await.unwrap().value,
            "10"
        );
        assert_eq!(
            client.network_fee(USDT_ERC20, None).await.unwrap().fee,
            "3.5"
        );
        let heights = client.chain_heights().await.unwrap();
        assert_eq!(
            (
                heights[1].chain.as_str(),
                heights[1].block_rate.block_time_ms
            ),
            ("ETH", 12_000)
        );
        match client.check_user("1").await {
            Err(ClientError::Api {
                code: 224083,
                reason,
                ..
            }) => assert_eq!(reason.as_deref(), Some("ToUserNotFound")),
            other => panic!("{other:?}"),
        }

        // Deposits to a permanent address, and the verified webhook.
        let address = client
            .permanent_address("user-1", "ETH")
            .await
            .unwrap()
            .address;
        pay_confirmed(&gateway, &address, "100");
        let hooks = receiver.wait_for_requests(1);
        let headers = WebhookHeaders {
            app_id: hooks[0].header("appid").unwrap().to_owned(),
            timestamp: hooks[0].header("timestamp").unwrap().to_owned(),
            sign: hooks[0].header("sign").unwrap().to_owned(),
        };
        match verify_webhook(
            &merchant.app_id,
            &merchant.app_secret,
            &headers,
            &hooks[0].body,
            now(),
            300,
        ) {
            Ok(Webhook::DirectDeposit(deposit)) => assert_eq!(deposit.credit_amount, "99.97"),
            other => panic!("{other:?}"),
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while client.assets(None).await.unwrap().list.is_empty() {
            assert!(std::time::Instant::now() < deadline);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            client.assets(Some(USDT_ERC20)).await.unwrap().list[0].value,
            "99.97"
        );

        // Orders and checkout.
        let order = client
            .create_order(&CreateOrder {
                token_id: USDT_ERC20.into(),
                product_price: "5".into(),
                merchant_order_id: "c-1".into(),
                denominated_currency: "USD".into(),
                ..CreateOrder::default()
            })
            .await
            .unwrap();
        assert_eq!(order.amount, "5");
        match client.bill_info(&["c-1"]).await.unwrap().as_slice() {
            [BillInfoItem::Order(info)] => assert_eq!(info.order_detail.status, "Pending"),
            other => panic!("{other:?}"),
        }
        let checkout = client
            .checkout_url(&CheckoutUrl {
                product_price: "5".into(),
                merchant_order_id: "h-1".into(),
                product_name: "Tea".into(),
                ..CheckoutUrl::default()
            })
            .await
            .unwrap();
        assert!(checkout.payment_url.starts_with(&format!("{base}/pay/")));

        // Withdrawals.
        let withdrawn = client
            .withdraw(&Withdraw {
                token_id: USDT_ERC20.into(),
                address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into(),
                value: "10".into(),
                merchant_order_id: "w-1".into(),
                memo: None,
                merchant_pays_fee: true,
            })
            .await
            .unwrap();
        assert_eq!(withdrawn.net_receivable, "10");
        match client.bill_info(&["w-1"]).await.unwrap().as_slice() {
            [BillInfoItem::Withdrawal(info)] => assert_eq!(info.withdraw_detail.value, "10"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            client
                .resend_webhooks(u64::try_from(now()).unwrap() - 60, None)
                .await
                .unwrap()
                .resend_count,
            0
        );

        // A wrong secret is refused by the server, in the envelope.
        let wrong = Client::new(
            base.as_str(),
            &merchant.app_id,
            "00000000000000000000000000000000",
        )
        .unwrap();
        assert!(matches!(
            wrong.coin_all().await,
            Err(ClientError::Api { code: 220003, .. })
        ));
    });

    // `ccgate call`, the integrator's probe.
    let call = |secret: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
            .args([
                "call",
                "assets",
                "{}",
                "--app-id",
                &merchant.app_id,
                "--secret",
                secret,
                "--base-url",
                &base,
            ])
            .output()
            .unwrap()
    };
    let ok = call(&merchant.app_secret);
    let printed = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{printed}");
    assert!(
        printed.contains("HTTP 200") && printed.contains("signature: verified"),
        "{printed}"
    );
    let refused = call("00000000000000000000000000000000");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("220003"));
}
