//! The webhook a deposit's state is reported in: the order's payment for an
//! order's address, a direct payment for a permanent one, in the dialect of
//! the order or address (`crate::notices` renders it).

use ccgate_ledger::Chain;
use ccgate_store::{ChainTransfer, NewWebhook};

use super::{Assessed, DepositWatcher};
use crate::EngineError;
use crate::notices::{Notice, PayStatus, Payment};

impl DepositWatcher {
    /// The webhook reporting a transfer in state `status`.
    pub(super) fn webhook(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        assessed: &Assessed<'_>,
        record_id: &str,
        status: PayStatus,
        now_unix_ms: i64,
    ) -> Result<NewWebhook, EngineError> {
        let address = &assessed.address;
        let payment = Payment {
            record_id,
            status,
            chain,
            transfer,
            coin: assessed.coin,
            token: assessed.token,
            fee: assessed.fee,
            credit: assessed.credit,
        };
        match &address.order_id {
            Some(order_id) => {
                let order = assessed.order.as_ref().ok_or_else(|| {
                    ccgate_store::StoreError::Corrupt(format!(
                        "address of a missing order {order_id}"
                    ))
                })?;
                Notice::OrderPayment { order, payment }.webhook(
                    &address.app_id,
                    order.dialect,
                    order.notify_url.clone(),
                    now_unix_ms,
                )
            }
            None => Notice::DirectPayment { address, payment }.webhook(
                &address.app_id,
                address.dialect,
                address.notify_url.clone(),
                now_unix_ms,
            ),
        }
    }
}
