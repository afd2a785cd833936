//! Double-entry bookkeeping in the style of TigerBeetle: every account keeps posted debits and
//! posted credits separately (both only grow), and a per-account rule says which way it may lean.

use std::collections::BTreeMap;

use crate::LedgerError;
use crate::amount::Amount;
use crate::registry::{ChainCode, CoinId};

string_id!(
    /// A merchant, identified by its Appid.
    MerchantId
);

/// Every account is kept per coin; the coin is not part of the account itself.
///
/// Adding a kind means one variant plus one arm in each of `key`, `from_key` and
/// `balance_rule`; the compiler points at all of them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Account {
    /// What the merchant may withdraw: a liability of the gateway towards the merchant.
    MerchantAvailable(MerchantId),
    /// Contra account for manual credits and debits made by the operator.
    OperatorAdjustments,
    /// One of the merchant's own users in its wallet system (v2 spec §2.9,
    /// decisions §24): a liability towards the merchant's user, part of the
    /// merchant's custody but not of its own balance. The id never holds `:`.
    User(MerchantId, String),
    /// Held for a wallet user's withdrawals in flight (decisions §28), as
    /// [`Account::MerchantReserved`] is for the merchant's.
    UserReserved(MerchantId, String),
    /// Held for the merchant's withdrawals in flight: reserved when a
    /// withdrawal is accepted, posted out when the chain confirms it, or
    /// returned to available when it fails.
    MerchantReserved(MerchantId),
    /// A Cwallet account inside this gateway (decisions §8), by its id.
    Cwallet(String),
    /// What the gateway's addresses on one chain hold: an asset, fed by
    /// confirmed deposits and drained by withdrawals.
    ChainCustody(ChainCode),
    /// Service fees the operator has earned.
    OperatorFees,
    /// What running the chains costs the operator, e.g. the gas of sweeps:
    /// debited as custody pays it, so it only grows.
    OperatorNetworkCosts,
    /// The operator's own inventory of each coin, the counterparty of every
    /// swap (docs/decisions.md §25): funded by adjustments, it takes in the
    /// coin a swap pays with and pays out the coin it buys, never more than
    /// it holds.
    OperatorTreasury,
}

const MERCHANT_PREFIX: &str = "merchant:";
const OPERATOR_PREFIX: &str = "operator:";
const CUSTODY_PREFIX: &str = "custody:";
const CWALLET_PREFIX: &str = "cwallet:";
const USER_PREFIX: &str = "user:";
const USER_RESERVED_PREFIX: &str = "user_reserved:";

impl Account {
    /// Storage key. Merchant keys end in the account kind so that the Appid in between is
    /// recovered exactly, whatever it contains.
    pub fn key(&self) -> String {
        match self {
            Account::MerchantAvailable(merchant) => {
                format!("{MERCHANT_PREFIX}{merchant}:available")
            }
            Account::MerchantReserved(merchant) => {
                format!("{MERCHANT_PREFIX}{merchant}:reserved")
            }
            Account::Cwallet(c_id) => format!("{CWALLET_PREFIX}{c_id}"),
            Account::User(merchant, user_id) => format!("{USER_PREFIX}{merchant}:{user_id}"),
            Account::UserReserved(merchant, user_id) => {
                format!("{USER_RESERVED_PREFIX}{merchant}:{user_id}")
            }
            Account::OperatorAdjustments => format!("{OPERATOR_PREFIX}adjustments"),
            Account::ChainCustody(chain) => format!("{CUSTODY_PREFIX}{chain}"),
            Account::OperatorFees => format!("{OPERATOR_PREFIX}fees"),
            Account::OperatorNetworkCosts => format!("{OPERATOR_PREFIX}network_costs"),
            Account::OperatorTreasury => format!("{OPERATOR_PREFIX}treasury"),
        }
    }

    pub fn from_key(key: &str) -> Result<Account, LedgerError> {
        let account = if let Some(rest) = key.strip_prefix(MERCHANT_PREFIX) {
            match rest.rsplit_once(':') {
                Some((appid, "available")) => {
                    Some(Account::MerchantAvailable(MerchantId::new(appid)))
                }
                Some((appid, "reserved")) => {
                    Some(Account::MerchantReserved(MerchantId::new(appid)))
                }
                _ => None,
            }
        } else if let Some(rest) = key.strip_prefix(USER_PREFIX) {
            // The user id holds no `:`, so the last one ends the Appid.
            match rest.rsplit_once(':') {
                Some((appid, user_id)) if !user_id.is_empty() => {
                    Some(Account::User(MerchantId::new(appid), user_id.to_owned()))
                }
                _ => None,
            }
        } else if let Some(rest) = key.strip_prefix(USER_RESERVED_PREFIX) {
            match rest.rsplit_once(':') {
                Some((appid, user_id)) if !user_id.is_empty() => Some(Account::UserReserved(
                    MerchantId::new(appid),
                    user_id.to_owned(),
                )),
                _ => None,
            }
        } else if let Some(c_id) = key.strip_prefix(CWALLET_PREFIX) {
            (!c_id.is_empty()).then(|| Account::Cwallet(c_id.to_owned()))
        } else if let Some(chain) = key.strip_prefix(CUSTODY_PREFIX) {
            (!chain.is_empty()).then(|| Account::ChainCustody(ChainCode::new(chain)))
        } else {
            match key.strip_prefix(OPERATOR_PREFIX) {
                Some("adjustments") => Some(Account::OperatorAdjustments),
                Some("fees") => Some(Account::OperatorFees),
                Some("network_costs") => Some(Account::OperatorNetworkCosts),
                Some("treasury") => Some(Account::OperatorTreasury),
                _ => None,
            }
        };
        account.ok_or_else(|| LedgerError::malformed_account_key(key))
    }

    pub fn balance_rule(&self) -> BalanceRule {
        match self {
            Account::MerchantAvailable(_)
            | Account::MerchantReserved(_)
            | Account::Cwallet(_)
            | Account::User(..)
            | Account::UserReserved(..)
            | Account::OperatorFees
            // A swap the treasury cannot cover is refused by this rule, in
            // the swap's own DB transaction.
            | Account::OperatorTreasury => BalanceRule::DebitsMustNotExceedCredits,
            // Balances are per coin across chains (spec §6, "aggregation"): a
            // withdrawal on one chain may be paid with what arrived on another,
            // so one chain's custody can lean negative — the operator's signal
            // to move funds between chains, not a broken invariant.
            // An expense is a debit balance: it never has credits to exceed.
            Account::ChainCustody(_)
            | Account::OperatorAdjustments
            | Account::OperatorNetworkCosts => BalanceRule::Unrestricted,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Direction {
    Debit,
    Credit,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BalanceRule {
    /// A liability: what is paid out may never exceed what came in.
    DebitsMustNotExceedCredits,
    /// May lean either way, e.g. a contra account that absorbs manual adjustments.
    Unrestricted,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Posting {
    pub account: Account,
    pub coin: CoinId,
    pub direction: Direction,
    pub amount: Amount,
}

/// A set of postings that balances per coin. The only way to get one is through the checks in
/// `new`, so anything holding a `JournalEntry` may rely on them.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct JournalEntry {
    postings: Vec<Posting>,
}

impl JournalEntry {
    pub fn new(postings: Vec<Posting>) -> Result<JournalEntry, LedgerError> {
        if postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        let mut totals: BTreeMap<&CoinId, (Amount, Amount)> = BTreeMap::new();
        let mut sides: BTreeMap<(&Account, &CoinId), Direction> = BTreeMap::new();
        for posting in &postings {
            if posting.amount.is_zero() {
                return Err(LedgerError::ZeroPosting);
            }
            // One direction per account and coin keeps an entry's effect independent of the
            // order of its postings, which is what makes all-or-nothing application simple.
            let side = sides
                .entry((&posting.account, &posting.coin))
                .or_insert(posting.direction);
            if *side != posting.direction {
                return Err(LedgerError::SameAccountBothSides {
                    account_key: posting.account.key(),
                    coin: posting.coin.clone(),
                });
            }
            let (debits, credits) = totals.entry(&posting.coin).or_default();
            let total = match posting.direction {
                Direction::Debit => debits,
                Direction::Credit => credits,
            };
            *total = total
                .checked_add(posting.amount)
                .ok_or(LedgerError::AmountOverflow)?;
        }
        if let Some((coin, _)) = totals
            .iter()
            .find(|(_, (debits, credits))| debits != credits)
        {
            return Err(LedgerError::Unbalanced {
                coin: (*coin).clone(),
            });
        }
        Ok(JournalEntry { postings })
    }

    pub fn transfer(
        debit: Account,
        credit: Account,
        coin: CoinId,
        amount: Amount,
    ) -> Result<JournalEntry, LedgerError> {
        JournalEntry::new(vec![
            Posting {
                account: debit,
                coin: coin.clone(),
                direction: Direction::Debit,
                amount,
            },
            Posting {
                account: credit,
                coin,
                direction: Direction::Credit,
                amount,
            },
        ])
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AccountBalance {
    pub debits_posted: Amount,
    pub credits_posted: Amount,
}

impl AccountBalance {
    /// Does not know which account it belongs to, so a broken rule is reported as
    /// `BalanceRuleViolated`; `apply_entry` names the account.
    pub fn apply(
        &self,
        direction: Direction,
        amount: Amount,
        rule: BalanceRule,
    ) -> Result<AccountBalance, LedgerError> {
        let mut next = *self;
        let side = match direction {
            Direction::Debit => &mut next.debits_posted,
            Direction::Credit => &mut next.credits_posted,
        };
        *side = side
            .checked_add(amount)
            .ok_or(LedgerError::AmountOverflow)?;
        next.check(rule)?;
        Ok(next)
    }

    pub fn available(&self) -> Option<Amount> {
        self.credits_posted.checked_sub(self.debits_posted)
    }

    pub fn check(&self, rule: BalanceRule) -> Result<(), LedgerError> {
        match rule {
            BalanceRule::DebitsMustNotExceedCredits if self.debits_posted > self.credits_posted => {
                Err(LedgerError::BalanceRuleViolated)
            }
            BalanceRule::DebitsMustNotExceedCredits | BalanceRule::Unrestricted => Ok(()),
        }
    }
}

/// Applies `entry` to `balances`, all or nothing: on error `balances` is left untouched.
pub fn apply_entry(
    entry: &JournalEntry,
    balances: &mut BTreeMap<(Account, CoinId), AccountBalance>,
) -> Result<(), LedgerError> {
    let mut staged: BTreeMap<(Account, CoinId), AccountBalance> = BTreeMap::new();
    for posting in entry.postings() {
        let key = (posting.account.clone(), posting.coin.clone());
        let current = staged
            .get(&key)
            .or_else(|| balances.get(&key))
            .copied()
            .unwrap_or_default();
        let next = current
            .apply(
                posting.direction,
                posting.amount,
                posting.account.balance_rule(),
            )
            .map_err(|err| match err {
                LedgerError::BalanceRuleViolated => LedgerError::InsufficientBalance {
                    account_key: posting.account.key(),
                    coin: posting.coin.clone(),
                },
                other => other,
            })?;
        staged.insert(key, next);
    }
    balances.extend(staged);
    Ok(())
}

/// An in-memory ledger: the journal and the balances it produces.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Books {
    journal: Vec<JournalEntry>,
    balances: BTreeMap<(Account, CoinId), AccountBalance>,
}

impl Books {
    pub fn post(&mut self, entry: JournalEntry) -> Result<(), LedgerError> {
        apply_entry(&entry, &mut self.balances)?;
        self.journal.push(entry);
        Ok(())
    }

    pub fn balance(&self, account: &Account, coin: &CoinId) -> AccountBalance {
        self.balances
            .get(&(account.clone(), coin.clone()))
            .copied()
            .unwrap_or_default()
    }

    pub fn balances(&self) -> &BTreeMap<(Account, CoinId), AccountBalance> {
        &self.balances
    }

    pub fn journal(&self) -> &[JournalEntry] {
        &self.journal
    }

    /// Rebuilds books from a journal; balances are a pure function of the entries.
    pub fn replay<'a>(
        entries: impl IntoIterator<Item = &'a JournalEntry>,
    ) -> Result<Books, LedgerError> {
        let mut books = Books::default();
        for entry in entries {
            books.post(entry.clone())?;
        }
        Ok(books)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn merchant(appid: &str) -> Account {
        Account::MerchantAvailable(MerchantId::new(appid))
    }

    fn usdt() -> CoinId {
        CoinId::new("usdt")
    }

    fn units(n: u128) -> Amount {
        Amount::from_base_units(n)
    }

    fn posting(account: Account, coin: &str, direction: Direction, amount: u128) -> Posting {
        Posting {
            account,
            coin: CoinId::new(coin),
            direction,
            amount: units(amount),
        }
    }

    fn credit_merchant(appid: &str, amount: u128) -> JournalEntry {
        JournalEntry::transfer(
            Account::OperatorAdjustments,
            merchant(appid),
            usdt(),
            units(amount),
        )
        .unwrap()
    }

    #[test]
    fn account_keys_round_trip() {
        for (account, key) in [
            (
                merchant("202302200951001627606736097771520"),
                "merchant:202302200951001627606736097771520:available",
            ),
            (merchant("a:b"), "merchant:a:b:available"),
            (merchant(""), "merchant::available"),
            (Account::OperatorAdjustments, "operator:adjustments"),
            (Account::OperatorFees, "operator:fees"),
            (Account::OperatorNetworkCosts, "operator:network_costs"),
            (Account::OperatorTreasury, "operator:treasury"),
            (merchant("m1"), "merchant:m1:available"),
            (
                Account::MerchantReserved(MerchantId::new("m1")),
                "merchant:m1:reserved",
            ),
            (Account::Cwallet("9454818".into()), "cwallet:9454818"),
            (
                Account::User(MerchantId::new("m1"), "alice".into()),
                "user:m1:alice",
            ),
            (
                Account::User(MerchantId::new("a:b"), "bob@x".into()),
                "user:a:b:bob@x",
            ),
            (
                Account::UserReserved(MerchantId::new("a:b"), "bob@x".into()),
                "user_reserved:a:b:bob@x",
            ),
            (Account::ChainCustody(ChainCode::new("ETH")), "custody:ETH"),
        ] {
            assert_eq!(account.key(), key);
            assert_eq!(Account::from_key(key), Ok(account));
        }
    }

    #[test]
    fn unknown_account_keys_are_refused() {
        for key in [
            "",
            "merchant:",
            "merchant:available",
            "merchant:x:pending",
            "cwallet:",
            "user:",
            "user:m1:",
            "user:alice",
            "merchant:x:available ",
            "Merchant:x:available",
            "operator:",
            "operator:adjustments:x",
            "operator:tips",
            "custody:",
            "adjustments",
        ] {
            assert_eq!(
                Account::from_key(key),
                Err(LedgerError::malformed_account_key(key)),
                "{key:?}"
            );
        }
    }

    #[test]
    fn balance_rules() {
        assert_eq!(
            merchant("m").balance_rule(),
            BalanceRule::DebitsMustNotExceedCredits
        );
        assert_eq!(
            Account::OperatorAdjustments.balance_rule(),
            BalanceRule::Unrestricted
        );
    }

    #[test]
    fn entry_validation() {
        use Direction::{Credit, Debit};

        let check = |postings: Vec<Posting>, expected: LedgerError| {
            assert_eq!(JournalEntry::new(postings), Err(expected));
        };
        check(vec![], LedgerError::TooFewPostings);
        check(
            vec![posting(merchant("m"), "usdt", Credit, 1)],
            LedgerError::TooFewPostings,
        );
        check(
            vec![
                posting(Account::OperatorAdjustments, "usdt", Debit, 0),
                posting(merchant("m"), "usdt", Credit, 0),
            ],
            LedgerError::ZeroPosting,
        );
        check(
            vec![
                posting(Account::OperatorAdjustments, "usdt", Debit, 2),
                posting(merchant("m"), "usdt", Credit, 1),
            ],
            LedgerError::Unbalanced { coin: usdt() },
        );
        // Balanced in total but not per coin.
        check(
            vec![
                posting(Account::OperatorAdjustments, "btc", Debit, 1),
                posting(merchant("m"), "usdt", Credit, 1),
            ],
            LedgerError::Unbalanced {
                coin: CoinId::new("btc"),
            },
        );
        check(
            vec![
                posting(merchant("m"), "usdt", Debit, 1),
                posting(merchant("m"), "usdt", Credit, 1),
            ],
            LedgerError::SameAccountBothSides {
                account_key: "merchant:m:available".into(),
                coin: usdt(),
            },
        );
        check(
            vec![
                posting(Account::OperatorAdjustments, "usdt", Debit, u128::MAX),
                posting(Account::OperatorAdjustments, "usdt", Debit, 1),
                posting(merchant("m"), "usdt", Credit, 1),
            ],
            LedgerError::AmountOverflow,
        );
        assert_eq!(
            JournalEntry::transfer(merchant("m"), merchant("m"), usdt(), units(5)),
            Err(LedgerError::SameAccountBothSides {
                account_key: "merchant:m:available".into(),
                coin: usdt(),
            })
        );

        // The same account may take part in several coins, on different sides.
        let swap = JournalEntry::new(vec![
            posting(merchant("m"), "usdt", Debit, 10),
            posting(Account::OperatorAdjustments, "usdt", Credit, 10),
            posting(Account::OperatorAdjustments, "btc", Debit, 1),
            posting(merchant("m"), "btc", Credit, 1),
        ])
        .unwrap();
        assert_eq!(swap.postings().len(), 4);
    }

    #[test]
    fn account_balance_rules() {
        let strict = BalanceRule::DebitsMustNotExceedCredits;
        let zero = AccountBalance::default();
        assert_eq!(zero.available(), Some(Amount::ZERO));
        assert_eq!(
            zero.apply(Direction::Debit, units(1), strict),
            Err(LedgerError::BalanceRuleViolated)
        );

        let funded = zero.apply(Direction::Credit, units(10), strict).unwrap();
        let spent = funded.apply(Direction::Debit, units(10), strict).unwrap();
        assert_eq!(spent.available(), Some(Amount::ZERO));
        assert_eq!(
            spent,
            AccountBalance {
                debits_posted: units(10),
                credits_posted: units(10)
            }
        );

        let negative = zero
            .apply(Direction::Debit, units(3), BalanceRule::Unrestricted)
            .unwrap();
        assert_eq!(negative.available(), None);
        assert_eq!(negative.check(BalanceRule::Unrestricted), Ok(()));
        assert_eq!(
            negative.check(strict),
            Err(LedgerError::BalanceRuleViolated)
        );

        let full = AccountBalance {
            debits_posted: Amount::ZERO,
            credits_posted: units(u128::MAX),
        };
        assert_eq!(
            full.apply(Direction::Credit, units(1), strict),
            Err(LedgerError::AmountOverflow)
        );
    }

    #[test]
    fn refused_entry_changes_nothing() {
        let mut books = Books::default();
        books.post(credit_merchant("a", 100)).unwrap();
        let before = books.clone();

        // First posting would succeed, the second must not; neither may stick.
        let entry = JournalEntry::new(vec![
            posting(merchant("a"), "usdt", Direction::Debit, 60),
            posting(merchant("b"), "usdt", Direction::Debit, 40),
            posting(Account::OperatorAdjustments, "usdt", Direction::Credit, 100),
        ])
        .unwrap();
        let refused = Err(LedgerError::InsufficientBalance {
            account_key: "merchant:b:available".into(),
            coin: usdt(),
        });
        assert_eq!(books.post(entry.clone()), refused);
        assert_eq!(books, before);
        assert_eq!(books.post(entry), refused);
        assert_eq!(books, before);

        let payout = JournalEntry::transfer(
            merchant("a"),
            Account::OperatorAdjustments,
            usdt(),
            units(100),
        );
        books.post(payout.unwrap()).unwrap();
        let a = books.balance(&merchant("a"), &usdt());
        assert_eq!(a.available(), Some(Amount::ZERO));
        let operator = books.balance(&Account::OperatorAdjustments, &usdt());
        assert_eq!(
            operator,
            AccountBalance {
                debits_posted: units(100),
                credits_posted: units(100)
            }
        );
        assert_eq!(
            books.balance(&merchant("nobody"), &usdt()),
            AccountBalance::default()
        );
        assert_eq!(books.journal().len(), 2);
        assert_eq!(Books::replay(books.journal()), Ok(books));
    }

    const MERCHANTS: [&str; 3] = ["m0", "m1", "m2"];
    const COINS: [&str; 2] = ["btc", "usdt"];

    /// The operator's share is `operator_weight` in four. Sources lean on the operator, since
    /// merchants only have something to spend once they have been funded.
    fn weighted_account(operator_weight: u32) -> impl Strategy<Value = Account> {
        prop_oneof![
            4 - operator_weight => proptest::sample::select(&MERCHANTS[..]).prop_map(merchant),
            operator_weight => Just(Account::OperatorAdjustments),
        ]
    }

    fn any_account() -> impl Strategy<Value = Account> {
        weighted_account(1)
    }

    fn any_coin() -> impl Strategy<Value = CoinId> {
        proptest::sample::select(&COINS[..]).prop_map(CoinId::new)
    }

    fn any_amount() -> impl Strategy<Value = Amount> {
        prop_oneof![
            8 => 0..1_000u128,
            1 => Just(u128::MAX / 2 + 1),
            1 => any::<u128>(),
        ]
        .prop_map(Amount::from_base_units)
    }

    fn any_direction() -> impl Strategy<Value = Direction> {
        prop_oneof![Just(Direction::Debit), Just(Direction::Credit)]
    }

    fn any_posting() -> impl Strategy<Value = Posting> {
        (any_account(), any_coin(), any_direction(), any_amount()).prop_map(
            |(account, coin, direction, amount)| Posting {
                account,
                coin,
                direction,
                amount,
            },
        )
    }

    /// Postings made of one or more transfers, so they balance unless amounts overflow; the
    /// other checks still refuse some of them.
    fn transfer_postings() -> impl Strategy<Value = Vec<Posting>> {
        proptest::collection::vec(
            (weighted_account(2), any_account(), any_coin(), any_amount()),
            1..4,
        )
        .prop_map(|transfers| {
            transfers
                .into_iter()
                .flat_map(|(from, to, coin, amount)| {
                    [
                        Posting {
                            account: from,
                            coin: coin.clone(),
                            direction: Direction::Debit,
                            amount,
                        },
                        Posting {
                            account: to,
                            coin,
                            direction: Direction::Credit,
                            amount,
                        },
                    ]
                })
                .collect()
        })
    }

    fn any_postings() -> impl Strategy<Value = Vec<Posting>> {
        prop_oneof![
            proptest::collection::vec(any_posting(), 0..6),
            transfer_postings(),
        ]
    }

    proptest! {
        #[test]
        fn account_key_round_trips_any_appid(appid in ".*") {
            let account = merchant(&appid);
            prop_assert_eq!(Account::from_key(&account.key()), Ok(account));
        }

        #[test]
        fn built_entries_balance_per_coin(postings in any_postings()) {
            if let Ok(entry) = JournalEntry::new(postings.clone()) {
                prop_assert_eq!(entry.postings(), &postings[..]);
                prop_assert!(entry.postings().len() >= 2);
                let mut sums: BTreeMap<&CoinId, (u128, u128)> = BTreeMap::new();
                let mut sides = BTreeMap::new();
                for p in entry.postings() {
                    prop_assert!(!p.amount.is_zero());
                    let side = sides.entry((&p.account, &p.coin)).or_insert(p.direction);
                    prop_assert_eq!(*side, p.direction);
                    let (debits, credits) = sums.entry(&p.coin).or_default();
                    let total = if p.direction == Direction::Debit { debits } else { credits };
                    *total = total.checked_add(p.amount.base_units()).unwrap();
                }
                for (debits, credits) in sums.values() {
                    prop_assert_eq!(debits, credits);
                }
            }
        }

        #[test]
        fn posting_keeps_invariants(entries in proptest::collection::vec(transfer_postings(), 0..40)) {
            let mut books = Books::default();
            for postings in entries {
                let Ok(entry) = JournalEntry::new(postings) else { continue };
                let before = books.clone();
                if let Err(err) = books.post(entry.clone()) {
                    prop_assert_eq!(&books, &before);
                    // Refusal is a pure function of the state, so retrying is refused alike.
                    prop_assert_eq!(books.post(entry.clone()), Err(err.clone()));
                    prop_assert_eq!(&books, &before);
                    let mut balances = books.balances().clone();
                    prop_assert_eq!(apply_entry(&entry, &mut balances), Err(err));
                    prop_assert_eq!(&balances, books.balances());
                }

                // Summed modulo 2^128: per account nothing overflows, but across accounts the
                // same money is counted once per hop.
                let mut totals: BTreeMap<&CoinId, (u128, u128)> = BTreeMap::new();
                for ((account, coin), balance) in books.balances() {
                    prop_assert_eq!(balance.check(account.balance_rule()), Ok(()));
                    if let Account::MerchantAvailable(_) = account {
                        prop_assert!(balance.debits_posted <= balance.credits_posted);
                        prop_assert!(balance.available().is_some());
                    }
                    let (debits, credits) = totals.entry(coin).or_default();
                    *debits = debits.wrapping_add(balance.debits_posted.base_units());
                    *credits = credits.wrapping_add(balance.credits_posted.base_units());
                }
                // Money is only ever moved, never created: the books as a whole stay balanced.
                for (debits, credits) in totals.values() {
                    prop_assert_eq!(debits, credits);
                }
            }

            let replayed = Books::replay(books.journal()).unwrap();
            prop_assert_eq!(replayed.balances(), books.balances());
            prop_assert_eq!(replayed, books);
        }
    }

    /// One step of a merchant's money life, as the engine drives it.
    #[derive(Clone, Debug)]
    enum Step {
        Deposit(u128),
        Reserve(u128),
        /// Resolve the open reservation at this index (modulo their count).
        Post(usize),
        Void(usize),
        ToCwallet(u128),
    }

    fn any_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1..1_000u128).prop_map(Step::Deposit),
            (1..1_000u128).prop_map(Step::Reserve),
            any::<usize>().prop_map(Step::Post),
            any::<usize>().prop_map(Step::Void),
            (1..500u128).prop_map(Step::ToCwallet),
        ]
    }

    proptest! {
        /// Two-phase withdrawals: whatever the order of deposits, reservations,
        /// posts, voids and Cwallet transfers, available and reserved never go
        /// negative, reserved equals the open reservations, every reservation
        /// resolves once, and all postings balance.
        #[test]
        fn two_phase_withdrawals_keep_every_invariant(steps in proptest::collection::vec(any_step(), 0..60)) {
            let m = MerchantId::new("m");
            let coin = CoinId::new("usdt");
            let available = Account::MerchantAvailable(m.clone());
            let reserved = Account::MerchantReserved(m);
            let custody = Account::ChainCustody(ChainCode::new("ETH"));
            let mut books = Books::default();
            let mut open: Vec<u128> = Vec::new();
            let transfer = |from: &Account, to: &Account, units: u128| {
                JournalEntry::transfer(from.clone(), to.clone(), coin.clone(), Amount::from_base_units(units)).unwrap()
            };
            for step in steps {
                match step {
                    Step::Deposit(units) => books.post(transfer(&custody, &available, units)).unwrap(),
                    Step::Reserve(units) => {
                        if books.post(transfer(&available, &reserved, units)).is_ok() {
                            open.push(units);
                        }
                    }
                    Step::Post(i) | Step::Void(i) if !open.is_empty() => {
                        let units = open.remove(i % open.len());
                        let to = if matches!(step, Step::Post(_)) { &custody } else { &available };
                        // A reservation always covers its own resolution.
                        books.post(transfer(&reserved, to, units)).unwrap();
                    }
                    Step::Post(_) | Step::Void(_) => {}
                    Step::ToCwallet(units) => {
                        let _ = books.post(transfer(&available, &Account::Cwallet("1".into()), units));
                    }
                }
                let reserved_now = books.balance(&reserved, &coin).available();
                prop_assert_eq!(reserved_now.map(Amount::base_units), Some(open.iter().sum::<u128>()));
                prop_assert!(books.balance(&available, &coin).available().is_some());
            }
            let (mut debits, mut credits) = (0u128, 0u128);
            for balance in books.balances().values() {
                debits += balance.debits_posted.base_units();
                credits += balance.credits_posted.base_units();
            }
            prop_assert_eq!(debits, credits);
            prop_assert_eq!(Books::replay(books.journal()).unwrap(), books);
        }
    }

    /// One step of a wallet system's money life (decisions §24, §25, §28)
    /// in one of two coins: holder 0 is the merchant itself (its App ID),
    /// 1.. its users.
    #[derive(Clone, Debug)]
    enum WalletStep {
        Deposit {
            coin: usize,
            holder: usize,
            units: u128,
        },
        Transfer {
            coin: usize,
            from: usize,
            to: usize,
            units: u128,
        },
        Batch {
            coin: usize,
            from: usize,
            legs: Vec<(usize, u128)>,
        },
        /// A withdrawal accepted: `units` reserved, of which `fee` is the
        /// network fee (the payee bears it).
        Withdraw {
            coin: usize,
            holder: usize,
            units: u128,
            fee: u128,
        },
        /// The open withdrawal `pick` (modulo how many are open) posted when
        /// the chain `confirmed` it, else voided back to its holder.
        Settle { pick: usize, confirmed: bool },
        /// `holder` swaps `units` of coin `from` into the other coin against
        /// the treasury (`swap`, or `userSwap` with the merchant's markup of
        /// `extra_ppm`).
        Swap {
            holder: usize,
            from: usize,
            units: u128,
            extra_ppm: u32,
        },
    }

    const HOLDERS: usize = 4;
    const WALLET_COINS: usize = 2;
    /// What the operator puts in the treasury of each coin at the start:
    /// small enough that some swaps find it short.
    const TREASURY_FUNDING: u128 = 3_000;

    fn any_wallet_step() -> impl Strategy<Value = WalletStep> {
        let holder = 0..HOLDERS;
        let coin = 0..WALLET_COINS;
        prop_oneof![
            (coin.clone(), holder.clone(), 1..1_000u128).prop_map(|(coin, holder, units)| {
                WalletStep::Deposit {
                    coin,
                    holder,
                    units,
                }
            }),
            (coin.clone(), holder.clone(), holder.clone(), 1..600u128).prop_map(
                |(coin, from, to, units)| WalletStep::Transfer {
                    coin,
                    from,
                    to,
                    units
                }
            ),
            (
                coin.clone(),
                holder.clone(),
                proptest::collection::vec((holder.clone(), 1..300u128), 1..4)
            )
                .prop_map(|(coin, from, legs)| WalletStep::Batch { coin, from, legs }),
            (coin.clone(), holder.clone(), 1..800u128, 0..100u128).prop_map(
                |(coin, holder, units, fee)| {
                    WalletStep::Withdraw {
                        coin,
                        holder,
                        units,
                        fee: fee.min(units - 1),
                    }
                }
            ),
            (0..8usize, proptest::bool::ANY)
                .prop_map(|(pick, confirmed)| WalletStep::Settle { pick, confirmed }),
            (holder, coin, 1..2_000u128, 0..50_000u32).prop_map(
                |(holder, from, units, extra_ppm)| WalletStep::Swap {
                    holder,
                    from,
                    units,
                    extra_ppm
                }
            ),
        ]
    }

    /// What the books should say, per coin: each holder's available and
    /// reserved balance, the treasury, and the withdrawals in flight (coin,
    /// holder, units, fee).
    #[derive(Clone, Debug, Default)]
    struct WalletModel {
        available: [[u128; HOLDERS]; WALLET_COINS],
        reserved: [[u128; HOLDERS]; WALLET_COINS],
        treasury: [u128; WALLET_COINS],
        open: Vec<(usize, usize, u128, u128)>,
    }

    proptest! {
        /// Users as accounts under their merchant: whatever the order of
        /// deposits (less a fee), transfers, all-or-nothing batches,
        /// two-phase withdrawals (reserved, then posted with their network
        /// fee or voided) and swaps against the treasury (priced by
        /// `swap::price_swap`, posted as `swap::swap_entry`, the engine's
        /// own), no balance goes negative, the ledger refuses exactly what a
        /// model of the balances would, in each coin custody plus what the
        /// operator funded equals the merchant's and its users' balances,
        /// available and reserved, plus the operator's fees and treasury,
        /// and the journal balances and replays.
        #[test]
        fn wallet_users_keep_every_invariant(steps in proptest::collection::vec(any_wallet_step(), 0..80)) {
            use crate::amount::{Decimal, Precision};
            use crate::swap::{SwapLegs, SwapSide, SwapTerms, extra_fee, price_swap, swap_entry};

            let m = MerchantId::new("m");
            let coins = [CoinId::new("usdt"), CoinId::new("matic")];
            let sides = [("1", 6u8), ("2.5", 6u8)].map(|(price, places)| SwapSide {
                precision: Precision::new(places).unwrap(),
                price_usd: Decimal::parse(price).unwrap(),
            });
            let terms = SwapTerms {
                spread_ppm: 2_000,
                fee_ppm: 5_000,
                fee_min_usd: Decimal::parse("0.00001").unwrap(),
            };
            let holders: Vec<Account> = (0..HOLDERS)
                .map(|i| if i == 0 {
                    Account::MerchantAvailable(m.clone())
                } else {
                    Account::User(m.clone(), format!("user-{i}"))
                })
                .collect();
            let reserves: Vec<Account> = (0..HOLDERS)
                .map(|i| if i == 0 {
                    Account::MerchantReserved(m.clone())
                } else {
                    Account::UserReserved(m.clone(), format!("user-{i}"))
                })
                .collect();
            let custody = Account::ChainCustody(ChainCode::new("ETH"));
            let mut books = Books::default();
            let mut model = WalletModel::default();
            for (coin, funded) in coins.iter().zip(&mut model.treasury) {
                books.post(JournalEntry::transfer(Account::OperatorAdjustments, Account::OperatorTreasury, coin.clone(), units(TREASURY_FUNDING)).unwrap()).unwrap();
                *funded = TREASURY_FUNDING;
            }
            let posting = |account: &Account, coin: usize, direction, units| Posting {
                account: account.clone(),
                coin: coins[coin].clone(),
                direction,
                amount: Amount::from_base_units(units),
            };
            for step in steps {
                let (entry, next) = match &step {
                    WalletStep::Deposit { coin, holder, units } => {
                        let fee = units / 100;
                        let mut postings = vec![
                            posting(&custody, *coin, Direction::Debit, *units),
                            posting(&holders[*holder], *coin, Direction::Credit, units - fee),
                        ];
                        if fee > 0 {
                            postings.push(posting(&Account::OperatorFees, *coin, Direction::Credit, fee));
                        }
                        let mut next = model.clone();
                        next.available[*coin][*holder] += units - fee;
                        (JournalEntry::new(postings), Some(next))
                    }
                    WalletStep::Transfer { coin, from, to, units } => {
                        let mut next = model.clone();
                        let covered = next.available[*coin][*from].checked_sub(*units).map(|left| {
                            next.available[*coin][*from] = left;
                            next.available[*coin][*to] += units;
                            next
                        });
                        (JournalEntry::transfer(holders[*from].clone(), holders[*to].clone(), coins[*coin].clone(), Amount::from_base_units(*units)), covered)
                    }
                    WalletStep::Batch { coin, from, legs } => {
                        let total: u128 = legs.iter().map(|(_, units)| units).sum();
                        let mut postings = vec![posting(&holders[*from], *coin, Direction::Debit, total)];
                        let mut next = model.clone();
                        let balances = &mut next.available[*coin];
                        let mut covered = balances[*from].checked_sub(total).is_some();
                        balances[*from] = balances[*from].saturating_sub(total);
                        for (to, units) in legs {
                            postings.push(posting(&holders[*to], *coin, Direction::Credit, *units));
                            balances[*to] += units;
                            // An account on both sides is refused when built.
                            covered &= to != from;
                        }
                        (JournalEntry::new(postings), covered.then_some(next))
                    }
                    WalletStep::Withdraw { coin, holder, units, fee } => {
                        let mut next = model.clone();
                        let covered = next.available[*coin][*holder].checked_sub(*units).map(|left| {
                            next.available[*coin][*holder] = left;
                            next.reserved[*coin][*holder] += units;
                            next.open.push((*coin, *holder, *units, *fee));
                            next
                        });
                        (JournalEntry::transfer(holders[*holder].clone(), reserves[*holder].clone(), coins[*coin].clone(), Amount::from_base_units(*units)), covered)
                    }
                    WalletStep::Settle { pick, confirmed } => {
                        if model.open.is_empty() {
                            continue;
                        }
                        let mut next = model.clone();
                        let (coin, holder, units, fee) = next.open.remove(pick % model.open.len());
                        next.reserved[coin][holder] -= units;
                        let mut postings = vec![posting(&reserves[holder], coin, Direction::Debit, units)];
                        if *confirmed {
                            // The net leaves custody; the fee is the operator's.
                            postings.push(posting(&custody, coin, Direction::Credit, units - fee));
                            if fee > 0 {
                                postings.push(posting(&Account::OperatorFees, coin, Direction::Credit, fee));
                            }
                        } else {
                            postings.push(posting(&holders[holder], coin, Direction::Credit, units));
                            next.available[coin][holder] += units;
                        }
                        (JournalEntry::new(postings), Some(next))
                    }
                    WalletStep::Swap { holder, from, units, extra_ppm } => {
                        let to = 1 - from;
                        // A swap the fee would eat is refused before any entry.
                        let Ok(figures) = price_swap(Amount::from_base_units(*units), sides[*from], sides[to], &terms) else {
                            continue;
                        };
                        // The markup is the merchant's on its users only.
                        let extra = if *holder == 0 { 0 } else { *extra_ppm };
                        let legs = SwapLegs {
                            coin_in: &coins[*from],
                            coin_out: &coins[to],
                            amount_in: figures.amount_in,
                            amount_out: figures.amount_out,
                            fee: figures.fee,
                            extra_fee: extra_fee(figures.amount_out, extra).unwrap(),
                        };
                        let Ok(net) = legs.net_out() else {
                            continue;
                        };
                        let mut next = model.clone();
                        let covered = next.available[*from][*holder].checked_sub(*units).zip(next.treasury[to].checked_sub(legs.amount_out.base_units())).map(|(left, treasury_left)| {
                            next.available[*from][*holder] = left;
                            next.treasury[*from] += units;
                            next.treasury[to] = treasury_left;
                            next.available[to][*holder] += net.base_units();
                            next.available[to][0] += legs.extra_fee.base_units();
                            next
                        });
                        (swap_entry(&holders[*holder], &m, &legs), covered)
                    }
                };
                let posted = entry.map_err(|_| ()).and_then(|entry| books.post(entry).map_err(|_| ()));
                match next {
                    Some(next) if posted.is_ok() => model = next,
                    // A transfer to oneself is refused when built, a batch
                    // naming itself too: the model said so.
                    None => prop_assert!(posted.is_err(), "{step:?} should have been refused"),
                    Some(_) => prop_assert!(matches!(step, WalletStep::Transfer { from, to, .. } if from == to), "{step:?} refused"),
                }
                for (n, coin) in coins.iter().enumerate() {
                    let held = |account: &Account| books.balance(account, coin).available().map(Amount::base_units);
                    for (holder, expected) in holders.iter().zip(model.available[n]) {
                        prop_assert_eq!(held(holder), Some(expected));
                    }
                    for (reserve, expected) in reserves.iter().zip(model.reserved[n]) {
                        prop_assert_eq!(held(reserve), Some(expected));
                    }
                    prop_assert_eq!(held(&Account::OperatorTreasury), Some(model.treasury[n]));
                    // Custody of a coin may lean negative once the treasury
                    // paid it out and it was withdrawn: compared as sides.
                    let custody_now = books.balance(&custody, coin);
                    let fees = held(&Account::OperatorFees).unwrap_or(0);
                    prop_assert_eq!(
                        custody_now.debits_posted.base_units() + TREASURY_FUNDING,
                        model.available[n].iter().sum::<u128>() + model.reserved[n].iter().sum::<u128>() + fees + model.treasury[n] + custody_now.credits_posted.base_units(),
                        "{}", coin
                    );
                }
            }
            let (mut debits, mut credits) = (0u128, 0u128);
            for balance in books.balances().values() {
                debits += balance.debits_posted.base_units();
                credits += balance.credits_posted.base_units();
            }
            prop_assert_eq!(debits, credits);
            prop_assert_eq!(Books::replay(books.journal()).unwrap(), books);
        }
    }
}
