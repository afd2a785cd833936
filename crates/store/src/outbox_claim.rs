//! The webhook claim, one statement for both backends (see `backend.rs`):
//! what `OutboxStore::claim_due_webhooks` runs.
//!
//! A claim used to number every due webhook per merchant (a window over the
//! whole backlog) to apply the per-merchant cap, so it cost O(pending): 14 ms
//! at 10 000 pending on SQLite, which bounded delivery throughput. It now
//! walks the merchants with pending webhooks and, for each, the first few
//! due webhooks, each step one seek in `webhook_outbox_merchant_due`
//! (app_id, next_attempt_at_ms, id; pending webhooks only) or
//! `webhook_outbox_claimed` (app_id, claimed_until_ms) (migrations
//! sqlite/0026 and 0067, postgres/0019 and 0060):
//! O(merchants × cap) whatever the backlog. It takes exactly what the window
//! took: per merchant, its earliest due webhooks (due time, then id) up to
//! the cap less the claims it holds; of those, the earliest `limit`.

use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::Backend;

/// The claim. Neither SQLite nor PostgreSQL has what would say "per
/// merchant, the first n" in one step that both run (SQLite has no
/// `LATERAL`, nor a `LIMIT` that names an outer column), so:
/// - `busy` is a loose index scan: the smallest pending merchant, then the
///   next one after it, and so on — one seek per merchant with pending work,
///   however many webhooks each has;
/// - `share` is what each may hold: the cap, or if more, an equal part of
///   the claim's spare slots among the merchants with pending webhooks
///   (decisions §38);
/// - `room` is what each may still take: its share less the claims it holds
///   (a claim holds until `claimed_until_ms`; held ones are not due, since a
///   claim moves `next_attempt_at_ms` to the same moment). The claims are
///   counted from `webhook_outbox_claimed` alone — every path that ends a
///   claim clears `claimed_until_ms`, so a held one is pending without
///   saying so — and only as far as the largest share, in index order: an
///   index scan that stops early (decisions §49). It is materialized so
///   that each merchant's count runs once;
/// - `walk` takes each merchant's earliest due webhook, then the next after
///   it in (due time, id) order (a row-value seek), until its room is used.
///
/// The candidates are then locked with [`Backend::SKIP_LOCKED`] and checked
/// to be still due: on PostgreSQL a candidate another instance is claiming
/// right now is left to it rather than waited for (and then claimed a second
/// time); on SQLite the statement runs under the one writer.
///
/// A webhook whose row names no URL is returned with its merchant's webhook
/// URL as it is now: delivery then reads no merchant settings (issue #16 §4:
/// that read, one per merchant and claim, was most of the delivery loop's
/// statements).
const CLAIM: &str = "
WITH RECURSIVE
busy (app_id) AS (
    SELECT (SELECT app_id FROM webhook_outbox WHERE status = 'pending'
            ORDER BY app_id LIMIT 1)
    UNION ALL
    SELECT (SELECT later.app_id FROM webhook_outbox later
            WHERE later.status = 'pending' AND later.app_id > busy.app_id
            ORDER BY later.app_id LIMIT 1)
    FROM busy WHERE busy.app_id IS NOT NULL),
share (most) AS (
    SELECT CASE WHEN $5 / NULLIF(COUNT(*), 0) > $4 THEN $5 / NULLIF(COUNT(*), 0) ELSE $4 END
    FROM busy WHERE busy.app_id IS NOT NULL),
room (app_id, free) AS MATERIALIZED (
    SELECT busy.app_id,
           share.most - (SELECT COUNT(*) FROM (
                             SELECT held.claimed_until_ms FROM webhook_outbox held
                             WHERE held.app_id = busy.app_id AND held.claimed_until_ms > $2
                             ORDER BY held.claimed_until_ms
                             LIMIT CASE WHEN $5 > $4 THEN $5 ELSE $4 END) held_now)
    FROM busy CROSS JOIN share WHERE busy.app_id IS NOT NULL),
walk (app_id, id, due_at, nth, free) AS (
    SELECT room.app_id, head.id, head.next_attempt_at_ms, 1, room.free
    FROM room JOIN webhook_outbox head
      ON head.id = (SELECT due.id FROM webhook_outbox due
                     WHERE due.status = 'pending' AND due.app_id = room.app_id
                       AND due.next_attempt_at_ms <= $2
                     ORDER BY due.next_attempt_at_ms, due.id LIMIT 1)
    WHERE room.free > 0
    UNION ALL
    SELECT walk.app_id, behind.id, behind.next_attempt_at_ms, walk.nth + 1, walk.free
    FROM walk JOIN webhook_outbox behind
      ON behind.id = (SELECT due.id FROM webhook_outbox due
                     WHERE due.status = 'pending' AND due.app_id = walk.app_id
                       AND due.next_attempt_at_ms <= $2
                       AND (due.next_attempt_at_ms, due.id) > (walk.due_at, walk.id)
                     ORDER BY due.next_attempt_at_ms, due.id LIMIT 1)
    WHERE walk.nth < walk.free)
UPDATE webhook_outbox SET next_attempt_at_ms = $1, claimed_until_ms = $1
WHERE id IN (
    SELECT id FROM webhook_outbox
    WHERE {chosen}
      AND status = 'pending' AND next_attempt_at_ms <= $2
    {skip_locked})
RETURNING id, app_id, record_id, order_type, dialect, payload, attempts,
    COALESCE(url, (SELECT webhook_url FROM merchants
                   WHERE merchants.app_id = webhook_outbox.app_id)) AS url";

/// The claim as `DB` runs it.
pub(crate) fn claim_statement<DB: Backend>() -> String {
    CLAIM
        .replace(
            "{chosen}",
            &DB::id_among("SELECT id FROM walk ORDER BY due_at, id LIMIT $3"),
        )
        .replace("{skip_locked}", DB::SKIP_LOCKED)
}

/// Claims up to `limit` webhooks due at `now_ms` for `lease_ms`, at most
/// `per_merchant_max` of a merchant's under claim at once — or, if more, its
/// equal part of `spare_slots` among the merchants with pending webhooks —
/// and returns their
/// rows (`outbox.rs` reads them); see `OutboxStore::claim_due_webhooks`. It
/// runs on `conn`, inside the caller's DB transaction (decisions §27: the
/// same one that records the attempts that freed the slots), after
/// [`Backend::SEEKS_ONLY`], so that its plan is the seeks it is written as
/// whatever the table's statistics say (decisions §49).
pub(crate) async fn claim_due_webhooks<DB>(
    conn: &mut DB::Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
    per_merchant_max: u32,
    spare_slots: u32,
) -> Result<Vec<DB::Row>, StoreError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    if let Some(seeks_only) = DB::SEEKS_ONLY {
        sqlx::query(seeks_only).execute(&mut *conn).await?;
    }
    Ok(sqlx::query(&claim_statement::<DB>())
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(i64::from(per_merchant_max))
        .bind(i64::from(spare_slots))
        .fetch_all(&mut *conn)
        .await?)
}
