use ccgate_ledger::MerchantId;
use serde_json::json;

use crate::backend::Database;
use crate::config::Settings;

/// What `ccgate order refund` is asked for.
#[derive(Debug)]
pub struct RefundRequest {
    pub app_id: String,
    pub merchant_order_id: String,
    pub address: String,
    pub amount: String,
    pub json: bool,
}

/// `ccgate order refund`: reserves the refund now; `serve` sends it and posts
/// it at its confirmations, like a withdrawal.
pub async fn refund(
    database: &Database,
    settings: &Settings,
    request: RefundRequest,
) -> anyhow::Result<()> {
    let refund = super::withdrawal::engine(database, settings)?
        .refund_order(
            &MerchantId::new(request.app_id.as_str()),
            &request.merchant_order_id,
            request.address.trim(),
            request.amount.trim(),
            database.business_now_ms().await?,
        )
        .await?;
    if request.json {
        println!(
            "{}",
            json!({"refund_id": refund.order_id, "record_id": refund.record_id, "status": refund.status.as_str()})
        );
    } else {
        println!(
            "Refund {} of order {} reserved; `ccgate serve` sends it (record {}).",
            refund.order_id, request.merchant_order_id, refund.record_id
        );
    }
    Ok(())
}
