use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId, Registry, SignedAmount};
use ccgate_store::{EntryMeta, Store, verify_ledger};
use clap::Subcommand;
use serde_json::json;

use super::{Globals, unix_now};

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Credit (positive amount) or debit (negative) a merchant, or with
    /// --treasury the operator's swap treasury, against the operator's
    /// adjustments account.
    Adjust {
        #[arg(
            long,
            required_unless_present = "treasury",
            conflicts_with = "treasury"
        )]
        app_id: Option<String>,
        /// Fund (or drain) the treasury that pays every swap's output coin
        /// (docs/decisions.md §25); in live mode, the operator's own inventory.
        #[arg(long)]
        treasury: bool,
        /// Coin symbol (USDT), coin id or token id.
        #[arg(long)]
        coin: String,
        /// Decimal amount, e.g. 12.5 or -0.001.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why; kept in the journal.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// A merchant's balances per coin.
    Balances {
        #[arg(long)]
        app_id: String,
        #[arg(long)]
        json: bool,
    },
    /// The operator's side of the books per coin: custody per chain, fees
    /// earned, network costs (gas), manual adjustments, and the swap
    /// treasury (credits minus debits is what it holds).
    Accounts {
        #[arg(long)]
        json: bool,
    },
    /// Replay the whole journal and compare it with the stored balances.
    Verify,
}

/// The journal's word for an operator's manual entry.
const ADJUSTMENT_KIND: &str = "adjustment";

pub async fn run(globals: Globals, command: LedgerCommand) -> anyhow::Result<ExitCode> {
    globals
        .with_database(async |database, settings| {
            let store = database.store();
            let registry = &settings.registry;
            match command {
                LedgerCommand::Adjust {
                    app_id,
                    treasury: _,
                    coin,
                    amount,
                    reason,
                    json,
                } => {
                    adjust(
                        store.as_ref(),
                        registry,
                        app_id,
                        &coin,
                        &amount,
                        reason,
                        json,
                    )
                    .await
                }
                LedgerCommand::Balances { app_id, json } => {
                    balances(store.as_ref(), registry, &MerchantId::new(app_id), json).await
                }
                LedgerCommand::Accounts { json } => accounts(store.as_ref(), registry, json).await,
                LedgerCommand::Verify => verify(store.as_ref()).await,
            }
        })
        .await
}

/// `--app-id` names a merchant; without it (`--treasury`), the treasury.
async fn adjust(
    store: &dyn Store,
    registry: &Registry,
    app_id: Option<String>,
    coin: &str,
    amount: &str,
    reason: String,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let coin = registry.resolve_coin_or_symbol(coin).with_context(|| {
        format!(
            "no coin {coin:?}; `ccgate` knows {}",
            known_symbols(registry)
        )
    })?;
    let amount = SignedAmount::parse_decimal(amount, coin.precision)
        .with_context(|| format!("read --amount {amount:?} as a {} amount", coin.symbol))?;
    if amount.magnitude.is_zero() {
        bail!("--amount must not be zero");
    }
    if reason.trim().is_empty() {
        bail!("--reason must say why");
    }
    let merchant = app_id.map(MerchantId::new);
    let account = match &merchant {
        Some(merchant) => {
            if store
                .merchant_credentials(merchant.as_str())
                .await?
                .is_none()
            {
                bail!("no merchant has the Appid {merchant}");
            }
            Account::MerchantAvailable(merchant.clone())
        }
        None => Account::OperatorTreasury,
    };
    let entry = if amount.negative {
        JournalEntry::transfer(
            account,
            Account::OperatorAdjustments,
            coin.id.clone(),
            amount.magnitude,
        )
    } else {
        JournalEntry::transfer(
            Account::OperatorAdjustments,
            account,
            coin.id.clone(),
            amount.magnitude,
        )
    }?;
    let meta = EntryMeta {
        kind: ADJUSTMENT_KIND,
        reason,
        created_at: unix_now(),
    };
    let entry_id = store
        .post_entry(&entry, &meta)
        .await
        .context("refused: the adjustment would make the balance negative or overflow")?;
    if !json {
        println!("Journal entry {entry_id} posted.");
    }
    match &merchant {
        Some(merchant) => balances(store, registry, merchant, json).await,
        None => accounts(store, registry, json).await,
    }
}

/// Available and reserved (withdrawals in flight) per coin.
async fn balances(
    store: &dyn Store,
    registry: &Registry,
    merchant: &MerchantId,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let available = Account::MerchantAvailable(merchant.clone());
    let reserved = Account::MerchantReserved(merchant.clone());
    let mut rows: BTreeMap<CoinId, (Option<Amount>, Option<Amount>)> = BTreeMap::new();
    for ((account, coin), balance) in store.all_balances().await? {
        let row = rows.entry(coin).or_default();
        if account == available {
            row.0 = balance.available();
        } else if account == reserved {
            row.1 = balance.available();
        }
    }
    rows.retain(|_, (a, r)| a.is_some() || r.is_some());
    let printed: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|(coin_id, (a, r))| {
            let coin = registry.coin(coin_id);
            let show = |amount: &Option<Amount>| match (coin, amount) {
                (Some(coin), Some(amount)) => amount.to_decimal_string(coin.precision),
                (None, Some(amount)) => format!("{} base units", amount.base_units()),
                (_, None) => "0".to_owned(),
            };
            let symbol = coin.map_or_else(|| "?".to_owned(), |c| c.symbol.clone());
            (coin_id.to_string(), symbol, show(a), show(r))
        })
        .collect();
    if json {
        let list: Vec<_> = printed
            .iter()
            .map(|(coin_id, crypto, value, reserved)| {
                json!({"coin_id": coin_id, "crypto": crypto, "value": value, "reserved": reserved})
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "{:<8} {:<38} {:>24} RESERVED",
            "COIN", "COIN_ID", "AVAILABLE"
        );
        for (coin_id, crypto, value, reserved) in &printed {
            println!("{crypto:<8} {coin_id:<38} {value:>24} {reserved}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every operator and custody account's debits and credits per coin. Custody
/// is an asset (its debits are what the chain should hold); fees are earned
/// as credits; network costs grow as debits.
async fn accounts(store: &dyn Store, registry: &Registry, json: bool) -> anyhow::Result<ExitCode> {
    let rows: Vec<_> = store
        .all_balances()
        .await?
        .into_iter()
        .filter(|((account, _), _)| {
            matches!(
                account,
                Account::ChainCustody(_)
                    | Account::OperatorFees
                    | Account::OperatorNetworkCosts
                    | Account::OperatorAdjustments
                    | Account::OperatorTreasury
            )
        })
        .map(|((account, coin_id), balance)| {
            let coin = registry.coin(&coin_id);
            let show = |amount: Amount| match coin {
                Some(coin) => amount.to_decimal_string(coin.precision),
                None => format!("{} base units", amount.base_units()),
            };
            let symbol = coin.map_or_else(|| "?".to_owned(), |c| c.symbol.clone());
            (
                account.key(),
                coin_id.to_string(),
                symbol,
                show(balance.debits_posted),
                show(balance.credits_posted),
            )
        })
        .collect();
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|(account, coin_id, crypto, debits, credits)| {
                json!({"account": account, "coin_id": coin_id, "crypto": crypto, "debits": debits, "credits": credits})
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "{:<28} {:<8} {:>24} {:>24}",
            "ACCOUNT", "COIN", "DEBITS", "CREDITS"
        );
        for (account, _, crypto, debits, credits) in &rows {
            println!("{account:<28} {crypto:<8} {debits:>24} {credits:>24}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(store: &dyn Store) -> anyhow::Result<ExitCode> {
    let audit = verify_ledger(store).await?;
    println!(
        "{} journal entries replayed against {} stored balances: {}",
        audit.entries,
        audit.balances,
        if audit.mismatches.is_empty() {
            "all equal"
        } else {
            "MISMATCH"
        }
    );
    for mismatch in &audit.mismatches {
        println!("  {mismatch}");
    }
    Ok(if audit.mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn known_symbols(registry: &Registry) -> String {
    registry
        .coins()
        .map(|c| c.symbol.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
