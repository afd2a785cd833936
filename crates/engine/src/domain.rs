//! The records the engine's answers carry, as the store keeps them: what a
//! door (the API's dialects, the admin API) renders, without reaching the
//! store itself.

pub use ccgate_store::{
    Approval, AuditEntry, BatchScope, Checkout, ConfirmingOrderPayment, ConsoleRole,
    ConsoleUserListing, CwalletAccount, DepositAddress, DepositRecord, DepositRecordFilter,
    DestinationFilter, JournalLine, MerchantCredentials, MerchantStatus, MerchantSummary, Order,
    OrderPayment, Swap, SwapOwner, SwapPricing, SwapQuery, TransferFilter, UserBatchTransfer,
    UserTransfer, WebhookAttempt, WebhookCounts, WebhookDialect, WebhookRow, Withdrawal,
    WithdrawalQuery, WithdrawalStatus,
};
