//! The records the engine's answers carry, as the store keeps them: what a
//! door (the API's dialects, the admin API) renders, without reaching the
//! store itself.

pub use ccgate_store::{
    Approval, BatchScope, Checkout, ConfirmingOrderPayment, CwalletAccount, DepositAddress,
    DepositRecord, DepositRecordFilter, DestinationFilter, MerchantCredentials, MerchantStatus,
    MerchantSummary, Order, Swap, SwapPricing, SwapQuery, TransferFilter, UserBatchTransfer,
    UserTransfer, WebhookCounts, WebhookDialect, WebhookRow, Withdrawal, WithdrawalQuery,
    WithdrawalStatus,
};
