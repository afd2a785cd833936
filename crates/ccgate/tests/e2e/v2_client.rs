//! The Rust client crate's typed v2 calls against the real binary: one
//! scenario per endpoint family (orders and hosted pages, permanent addresses
//! and deposit records, fees and withdrawals), each with the webhook it
//! causes verified into `V2Webhook`. Only the client crate speaks to the API;
//! the CLI plays the payer (devnet) and the time (sandbox clock).

use ccgate_client::v2::{
    CheckoutPrice, CheckoutRequest, CwalletWithdrawal, DepositAddressRequest, DepositRecordQuery,
    InvoicePrice, InvoiceRequest, NetworkWithdrawal, OrderRequest, V2Client, WithdrawRecordQuery,
};
use ccgate_client::{ClientError, V2Webhook};
use serde_json::Value;

use crate::sandbox::{clock, verified_v2};
use crate::support::pay;
use crate::support::{Gateway, HttpStub, Merchant};

const USDT: u64 = 1280;
const USD: u64 = 1033;
const PAYEE_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A sandbox whose demo merchant's webhooks reach `receiver`, and a client for it.
fn sandbox(receiver: &HttpStub) -> (Gateway, Merchant, V2Client) {
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    (gateway, merchant, client)
}

/// Past the devnet's confirmations, with everything due settled.
fn confirm(gateway: &Gateway) {
    clock(gateway, &["advance", "4m"]);
}

fn api_code<T: std::fmt::Debug>(answer: Result<T, ClientError>) -> u32 {
    match answer {
        Err(ClientError::Api { code, .. }) => code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn orders_checkouts_and_invoices_through_the_typed_client() {
    let receiver = HttpStub::start(200, "Success");
    let (gateway, merchant, client) = sandbox(&receiver);
    runtime().block_on(async {
        let request = OrderRequest {
            order_id: "v2c-order-1".into(),
            coin_id: USDT,
            chain: "ETH".into(),
            price: "10".into(),
            fiat_id: Some(USD),
            product: Some("A book".into()),
            generate_checkout_url: true,
            ..OrderRequest::default()
        };
        let order = client.create_order(&request).await.unwrap();
        assert_eq!(order.amount, "10");
        assert_eq!(order.confirms_needed, 12);
        assert!(order.checkout_url.contains("/pay/"), "{order:?}");
        // A repeat is the same order: what makes the retry safe.
        assert_eq!(client.create_order(&request).await.unwrap(), order);
        let other_price = OrderRequest {
            price: "11".into(),
            ..request.clone()
        };
        assert_eq!(api_code(client.create_order(&other_price).await), 11011);

        pay(&gateway, &order.address, "10");
        confirm(&gateway);
        let info = client.order_info("v2c-order-1").await.unwrap();
        assert_eq!(
            (info.amount_to_pay.as_str(), info.coin_id, info.fiat_id),
            ("10", USDT, USD)
        );
        assert_eq!(info.to_address, order.address);
        assert_eq!(info.paid_list.len(), 1);
        let payment = &info.paid_list[0];
        assert_eq!(
            (payment.amount.as_str(), payment.status.as_str()),
            ("10", "Success")
        );
        match verified_v2(&merchant, &receiver.wait_for_requests(1)[0]) {
            V2Webhook::ApiDeposit(msg) => {
                assert_eq!(msg.order_id, "v2c-order-1");
                assert_eq!(msg.record_id, payment.record_id);
                assert_eq!((msg.coin_id, msg.status.as_str()), (USDT, "Success"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(api_code(client.order_info("v2c-nobody").await), 11003);

        let mut checkout = CheckoutRequest::new(
            "v2c-checkout-1",
            "9.20",
            CheckoutPrice::FiatSymbol("usd".into()),
        );
        checkout.product = Some("Two books".into());
        checkout.return_url = Some("https://shop.example/back?order=1".into());
        let page = client.create_checkout_url(&checkout).await.unwrap();
        assert!(page.contains("/pay/"), "{page}");
        assert_eq!(client.create_checkout_url(&checkout).await.unwrap(), page);
        let unchosen = client.order_info("v2c-checkout-1").await.unwrap();
        assert_eq!(
            (
                unchosen.amount_to_pay.as_str(),
                unchosen.fiat_symbol.as_str()
            ),
            ("9.2", "USD")
        );
        assert!(unchosen.paid_list.is_empty());
        assert_eq!(unchosen.checkout_url, page);

        let invoice = InvoiceRequest::new("v2c-invoice-1", "12", InvoicePrice::FiatId(USD));
        let invoice_url = client.create_invoice_url(&invoice).await.unwrap();
        let due = client.invoice_info("v2c-invoice-1").await.unwrap();
        assert_eq!(due.invoice_url, invoice_url);
        assert_eq!(
            (
                due.price.as_str(),
                due.price_symbol.as_str(),
                due.price_fiat_id,
                due.price_coin_id
            ),
            ("12", "USD", USD, 0)
        );
        assert!(due.paid_list.is_empty());
        assert_eq!(api_code(client.invoice_info("v2c-nobody").await), 11003);
    });
}

#[test]
fn permanent_addresses_and_deposit_records_through_the_typed_client() {
    let receiver = HttpStub::start(200, "Success");
    let (gateway, merchant, client) = sandbox(&receiver);
    runtime().block_on(async {
        let request = DepositAddressRequest {
            reference_id: "v2c-user".into(),
            chain: "ETH".into(),
            notify_url: None,
        };
        let address = client.deposit_address(&request).await.unwrap();
        assert_eq!(address.memo, "");
        assert_eq!(client.deposit_address(&request).await.unwrap(), address);

        let paid = pay(&gateway, &address.address, "25");
        confirm(&gateway);
        let record_id = match verified_v2(&merchant, &receiver.wait_for_requests(1)[0]) {
            V2Webhook::DirectDeposit(msg) => {
                assert_eq!(msg.reference_id, "v2c-user");
                assert_eq!((msg.coin_id, msg.status.as_str()), (USDT, "Success"));
                msg.record_id
            }
            other => panic!("{other:?}"),
        };
        let record = client.deposit_record(&record_id).await.unwrap();
        assert_eq!(record.tx_id, paid["txid"].as_str().unwrap());
        assert_eq!(
            (
                record.amount.as_str(),
                record.reference_id.as_str(),
                record.status.as_str()
            ),
            ("25", "v2c-user", "Success")
        );
        assert_eq!(record.to_address, address.address);

        let listed = client
            .deposit_records(&DepositRecordQuery {
                reference_id: Some("v2c-user".into()),
                ..DepositRecordQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.records, [record]);
        assert_eq!(listed.next_id, "");
        assert_eq!(api_code(client.deposit_record("404").await), 11003);
    });
}

#[test]
fn fees_and_withdrawals_through_the_typed_client() {
    let receiver = HttpStub::start(200, "Success");
    let (gateway, merchant, client) = sandbox(&receiver);
    let c_id = {
        let created: Value = serde_json::from_str(&gateway.cli_ok(&[
            "cwallet",
            "create",
            "--nickname",
            "alvin",
            "--json",
        ]))
        .unwrap();
        created["c_id"].as_str().unwrap().to_owned()
    };
    runtime().block_on(async {
        let funding = client
            .deposit_address(&DepositAddressRequest {
                reference_id: "v2c-funds".into(),
                chain: "ETH".into(),
                notify_url: None,
            })
            .await
            .unwrap();
        pay(&gateway, &funding.address, "100");
        confirm(&gateway);
        assert_eq!(receiver.wait_for_requests(1).len(), 1);

        let quote = client.withdraw_fee(USDT, "ETH").await.unwrap();
        assert_eq!(
            (quote.fee.coin_id, quote.fee.coin_symbol.as_str()),
            (USDT, "USDT")
        );
        assert_eq!(quote.network_fee_inquiry_id.len(), 33);
        let request = NetworkWithdrawal {
            order_id: "v2c-w-1".into(),
            coin_id: USDT,
            chain: "ETH".into(),
            address: PAYEE_EVM.into(),
            amount: "5".into(),
            network_fee_inquiry_id: Some(quote.network_fee_inquiry_id.clone()),
            ..NetworkWithdrawal::default()
        };
        let record_id = client.withdraw_to_network(&request).await.unwrap();
        assert_eq!(
            client.withdraw_to_network(&request).await.unwrap(),
            record_id
        );
        confirm(&gateway);
        match verified_v2(&merchant, &receiver.wait_for_requests(2)[1]) {
            V2Webhook::ApiWithdrawal(msg) => {
                assert_eq!(msg.record_id, record_id);
                assert_eq!(
                    (msg.order_id.as_str(), msg.status.as_str()),
                    ("v2c-w-1", "Success")
                );
            }
            other => panic!("{other:?}"),
        }
        let record = client.withdraw_record(&record_id).await.unwrap();
        assert_eq!(
            (
                record.status.as_str(),
                record.withdraw_type.as_str(),
                record.amount.as_str()
            ),
            ("Success", "Network", "5")
        );
        assert_eq!(record.fee, quote.fee);
        assert_eq!(record.to_address, PAYEE_EVM);
        assert!(record.tx_id.starts_with("0x"), "{record:?}");
        assert_eq!(
            client.withdraw_record_by_order_id("v2c-w-1").await.unwrap(),
            record
        );

        let to_cwallet = CwalletWithdrawal {
            order_id: "v2c-cw-1".into(),
            coin_id: USDT,
            cwallet_user: c_id.clone(),
            amount: "2.5".into(),
        };
        let cwallet_record_id = client.withdraw_to_cwallet(&to_cwallet).await.unwrap();
        let cwallet_record = client.withdraw_record(&cwallet_record_id).await.unwrap();
        assert_eq!(
            (
                cwallet_record.status.as_str(),
                cwallet_record.cwallet_user.as_str()
            ),
            ("Success", c_id.as_str())
        );

        let all = client
            .withdraw_records(&WithdrawRecordQuery::default())
            .await
            .unwrap();
        let ids: Vec<&str> = all.records.iter().map(|r| r.record_id.as_str()).collect();
        assert_eq!(ids, [cwallet_record_id.as_str(), record_id.as_str()]);
        let on_chain = client
            .withdraw_records(&WithdrawRecordQuery {
                chain: Some("ETH".into()),
                ..WithdrawRecordQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(on_chain.records, [record]);
        assert_eq!(on_chain.next_id, "");

        let too_much = NetworkWithdrawal {
            order_id: "v2c-w-2".into(),
            amount: "1000".into(),
            network_fee_inquiry_id: None,
            ..request
        };
        assert_eq!(api_code(client.withdraw_to_network(&too_much).await), 14000);
    });
    // Only the network withdrawal is notified: a Cwallet one sends nothing.
    assert_eq!(receiver.received().len(), 2);
}
