//! Write transactions, and on SQLite the write turn and group commit.
//!
//! SQLite admits one writer at a time and, with `synchronous = FULL`, pays one WAL fsync per
//! `COMMIT` (about 0.3 ms here, a third of a typical write's time in the turn). So this
//! process's writers take turns ([`WriteTurns`]), and a write that ends while others wait for
//! the turn does not commit: it leaves its transaction open for the next writer, who works
//! under a savepoint of its own, and the last write of the group commits for all of them —
//! one fsync for the group. Every write of a group hears "committed" only once that `COMMIT`
//! is on disk, so nothing is reported saved that a crash could lose; a write that fails rolls
//! back to its savepoint and leaves the others' work in place.
//!
//! PostgreSQL needs none of this: every write has its own transaction, and the server flushes
//! concurrent commits together on its own.

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};
use stride_app::{StoreError, WriteCounts};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::sql::{CopyIn, References, Sql};
use crate::{backend, SqlStore};

/// At most this many writes share one `COMMIT`…
const MAX_GROUP: usize = 16;
/// …and a group stops taking writes once its transaction has been open this long, so the
/// first write of a group is not held back long for the others.
const MAX_GROUP_OPEN: Duration = Duration::from_millis(10);

/// Whether a write may share its transaction with the writes around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// Short writes: join the open group, and leave the transaction open for the next one.
    Group,
    /// Long writes (migrations, imports, generated data): the open group commits first, and
    /// this write commits on its own, so short writes are never held until it ends.
    Alone,
}

impl Sharing {
    /// The statements beginning a write of this kind on SQLite. A long write gets a page cache
    /// of 64 MiB instead of SQLite's 2 MiB: a 100,000-lead import touches more index pages than
    /// 2 MiB holds, and each page pushed out in the middle of the transaction is written to the
    /// WAL and read back from it (12 % less time, 40 MiB more memory; docs/benchmarks.md,
    /// 2026-12-07). It also keeps its statement journals in memory: every multi-row statement
    /// that may fail half-way saves the pages it changes first, and past 64 KiB SQLite writes
    /// them to a temporary file — an eighth of an import's write thread went there. Every
    /// short write sets both back (a no-op when unchanged), so a connection that served a long
    /// write returns to the usual settings with its next write.
    fn sqlite_begin(self) -> &'static str {
        match self {
            Sharing::Group => {
                "PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT; BEGIN IMMEDIATE"
            }
            Sharing::Alone => {
                "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; BEGIN IMMEDIATE"
            }
        }
    }
}

/// SQLite: this process's writers take turns here before `BEGIN IMMEDIATE`. SQLite admits one
/// writer at a time anyway, and a writer it turns away waits in its busy handler by sleeping
/// (1, 2, 5 … 100 ms), which made the slowest writes under load ten times slower than the
/// median; queued here, each starts as soon as the one before ends. The busy timeout still
/// covers another process on the same file.
pub(crate) struct WriteTurns {
    turn: Arc<Semaphore>,
    /// Writers waiting for the turn: a write hands its transaction on only when one does.
    waiting: AtomicUsize,
    /// The group's transaction between two writes of the group; only the turn's holder
    /// touches it.
    open: Mutex<Option<OpenGroup>>,
    /// Writes committed, and the commits that carried them.
    writes: AtomicU64,
    commits: AtomicU64,
}

type Outcome = Result<(), String>;

struct OpenGroup {
    tx: Transaction<'static, Any>,
    began: Instant,
    /// The group's ended writes, each waiting to hear how the `COMMIT` went.
    members: Vec<oneshot::Sender<Outcome>>,
    /// The next write's savepoint is already open: the write before sent it with its last
    /// statement.
    savepoint_open: bool,
}

impl WriteTurns {
    pub(crate) fn new() -> Self {
        Self {
            turn: Arc::new(Semaphore::new(1)),
            waiting: AtomicUsize::new(0),
            open: Mutex::new(None),
            writes: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        }
    }

    pub(crate) fn counts(&self) -> WriteCounts {
        WriteCounts {
            writes: self.writes.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
        }
    }

    /// Commits a group's transaction and tells each of its writes how it went.
    async fn commit(&self, tx: Transaction<'static, Any>, members: Vec<oneshot::Sender<Outcome>>) {
        let outcome = tx.commit().await.map_err(|e| e.to_string());
        if outcome.is_ok() {
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.writes
                .fetch_add(members.len() as u64, Ordering::Relaxed);
        }
        tell(members, &outcome);
    }

    fn take_open(&self) -> Option<OpenGroup> {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn leave_open(&self, group: OpenGroup) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = Some(group);
    }
}

/// PostgreSQL: where transactions beside others are opened ([`CopyTx`]), and how many may be
/// open at once: a quarter of the pool. An import holds up to three connections for its whole
/// length, and imports at once must leave the rest to their own lookups and to the server's
/// requests.
pub(crate) struct BesideSlots {
    slots: Arc<Semaphore>,
    /// Where [`CopyTx`]s connect.
    server: PgConnectOptions,
}

impl BesideSlots {
    pub(crate) fn of(pool: &AnyPool, server: PgConnectOptions) -> Arc<Self> {
        let slots = (pool.options().get_max_connections() as usize / 4).max(1);
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(slots)),
            server,
        })
    }

    /// A slot, unless all are taken: nothing waits for one.
    fn free_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// A transaction for `COPY`, on a connection of its own outside the pool (the pool's
    /// driver has no `COPY`), or `None` while every slot is taken.
    pub(crate) async fn open(&self) -> Result<Option<CopyTx>, StoreError> {
        let Some(slot) = self.free_slot() else {
            return Ok(None);
        };
        let mut conn = PgConnection::connect_with(&self.server)
            .await
            .map_err(backend)?;
        // A third of the copy's work was the foreign keys' checks, a query for each row. Where
        // the role may (a superuser, or `GRANT SET ON PARAMETER session_replication_role`),
        // this connection, the copy's own, skips triggers and the copy holds the rows referred
        // to itself, once each ([`CopyTx::copy`]); elsewhere the database checks every row.
        let held = match conn.execute("SET session_replication_role = replica").await {
            Ok(_) => Some(HashSet::new()),
            Err(error) => {
                tracing::debug!(%error, "the copy leaves each row's references to the database");
                None
            }
        };
        conn.execute("BEGIN").await.map_err(backend)?;
        Ok(Some(CopyTx {
            conn,
            held,
            _slot: slot,
        }))
    }
}

/// A PostgreSQL transaction that writes rows with `COPY … FROM STDIN`: the server takes them as
/// they stream in, so it never waits for the next statement to be encoded and sent. Dropped
/// without committing, its connection closes and the server rolls it back.
///
/// Where it skips the foreign keys' triggers (see [`BesideSlots::open`]) it does their
/// work for them: before rows are copied, the rows they refer to are locked `FOR KEY SHARE`, as
/// the checks would lock them, so none can be deleted or change its id until this transaction
/// ends, and a missing one refuses the copy. Each is locked once, not once per row.
pub(crate) struct CopyTx {
    conn: PgConnection,
    /// The rows referred to so far, (table, id), while the triggers are skipped; `None` while
    /// the database checks each row's references itself.
    held: Option<HashSet<(&'static str, i64)>>,
    _slot: OwnedSemaphorePermit,
}

impl CopyTx {
    /// Runs `copy.statement` (`COPY table (columns) FROM STDIN`) with its rows in the text
    /// format, once the rows they refer to are held.
    pub(crate) async fn copy(&mut self, copy: CopyIn) -> Result<(), StoreError> {
        self.hold(copy.refers_to).await?;
        let mut into = self
            .conn
            .copy_in_raw(&copy.statement)
            .await
            .map_err(backend)?;
        if let Err(e) = into.send(copy.rows).await {
            // Ends the copy so the error is the server's, and the connection stays usable.
            let _ = into.abort(e.to_string()).await;
            return Err(backend(e));
        }
        into.finish().await.map(drop).map_err(backend)
    }

    /// Locks the rows `references` names that this copy does not hold yet, as the foreign
    /// keys' checks would; refuses the copy when one is missing.
    async fn hold(&mut self, references: References) -> Result<(), StoreError> {
        let Some(held) = self.held.as_mut() else {
            return Ok(());
        };
        for (table, ids) in references.0 {
            let new: Vec<i64> = ids
                .into_iter()
                .filter(|id| !held.contains(&(table, *id)))
                .collect();
            if new.is_empty() {
                continue;
            }
            let lock = format!("SELECT id FROM {table} WHERE id = ANY($1) FOR KEY SHARE");
            let found: HashSet<i64> = sqlx::query_scalar(&lock)
                .bind(&new)
                .fetch_all(&mut self.conn)
                .await
                .map_err(backend)?
                .into_iter()
                .collect();
            if let Some(missing) = new.iter().find(|id| !found.contains(id)) {
                return Err(StoreError::Backend(format!(
                    "the rows to write refer to {table} {missing}, which does not exist"
                )));
            }
            held.extend(new.into_iter().map(|id| (table, id)));
        }
        Ok(())
    }

    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        self.conn.execute("COMMIT").await.map(drop).map_err(backend)
    }
}

/// A write transaction; on SQLite it holds the write turn until it ends. Use it as a
/// connection; end it with [`WriteTx::commit`]. Dropped without committing, it rolls back.
pub(crate) struct WriteTx {
    /// Taken only by `commit`, which consumes the `WriteTx`, and by `drop`: present whenever
    /// the `WriteTx` can be used.
    tx: Option<Transaction<'static, Any>>,
    turn: Option<Turn>,
}

/// A SQLite write's place in its group.
struct Turn {
    turns: Arc<WriteTurns>,
    _permit: OwnedSemaphorePermit,
    sharing: Sharing,
    began: Instant,
    /// The writes before this one in the same transaction; empty for the write that began it.
    earlier: Vec<oneshot::Sender<Outcome>>,
    /// This write opened the next write's savepoint with its last statement.
    opened_next: bool,
}

impl Turn {
    /// Whether the group takes another write after this one, which would make `members`
    /// writes in all: only short writes share, only while others wait, up to the group's size
    /// and age.
    fn grows(&self, members: usize) -> bool {
        self.sharing == Sharing::Group
            && self.turns.waiting.load(Ordering::Acquire) > 0
            && members < MAX_GROUP
            && self.began.elapsed() < MAX_GROUP_OPEN
    }

    /// Ends this write's part of the transaction: hands it to the next writer while the group
    /// may grow, else commits it and tells every write of the group. `mine` hears the outcome
    /// too (a committing write; a failed one has nobody to tell).
    async fn pass_on(
        mut self,
        tx: Transaction<'static, Any>,
        mine: Option<oneshot::Sender<Outcome>>,
    ) {
        self.earlier.extend(mine);
        if self.grows(self.earlier.len()) {
            self.turns.leave_open(OpenGroup {
                tx,
                began: self.began,
                members: std::mem::take(&mut self.earlier),
                savepoint_open: self.opened_next,
            });
            // The turn is given back when `self` drops, waking the next writer.
            return;
        }
        // In a task of its own, holding the turn: a caller dropped in the middle of the
        // `COMMIT` (a job stopped at shutdown) must not leave the group without its answer.
        let committing = tokio::spawn(async move {
            let members = std::mem::take(&mut self.earlier);
            self.turns.commit(tx, members).await;
            drop(self);
        });
        let _ = committing.await;
    }

    /// A write that did not commit: its own work is undone, the group's stays.
    async fn roll_back(self, mut tx: Transaction<'static, Any>) {
        if self.earlier.is_empty() {
            // It began the transaction: nothing else is in it.
            let _ = tx.rollback().await;
            return;
        }
        match tx
            .execute("ROLLBACK TO stride_write; RELEASE stride_write")
            .await
        {
            Ok(_) => self.pass_on(tx, None).await,
            Err(e) => {
                // SQLite ends the whole transaction on some errors (a full disk, I/O): the
                // group's writes are lost with it, and each of them says so.
                let _ = tx.rollback().await;
                tell(
                    self.earlier,
                    &Err(format!("the write group was rolled back: {e}")),
                );
            }
        }
    }
}

fn tell(members: Vec<oneshot::Sender<Outcome>>, outcome: &Outcome) {
    for member in members {
        // A member whose caller has gone has nobody to tell.
        let _ = member.send(outcome.clone());
    }
}

#[allow(clippy::expect_used, reason = "`tx` is present until commit or drop")]
impl WriteTx {
    /// Runs `last`, the write's last statement, then commits. On SQLite, when the group looks
    /// set to take the next waiting write, that write's savepoint goes with `last`: one round
    /// trip to the worker thread fewer in the turn. Should the group commit instead, the
    /// savepoint is committed with it, empty.
    pub(crate) async fn commit_after(mut self, last: Option<Sql>) -> Result<(), StoreError> {
        if let Some(mut last) = last {
            let opens_next = self
                .turn
                .as_ref()
                .is_some_and(|turn| turn.grows(turn.earlier.len() + 1));
            if opens_next {
                last.push("; SAVEPOINT stride_write");
            }
            last.execute(&mut self).await?;
            if let Some(turn) = self.turn.as_mut() {
                turn.opened_next = opens_next;
            }
        }
        self.commit().await
    }

    /// Commits; on SQLite returns once the group's `COMMIT` is on disk.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let tx = self.tx.take().expect("a write transaction ends once");
        let Some(turn) = self.turn.take() else {
            return tx.commit().await.map_err(backend);
        };
        let (mine, outcome) = oneshot::channel();
        turn.pass_on(tx, Some(mine)).await;
        match outcome.await {
            Ok(outcome) => outcome.map_err(StoreError::Backend),
            Err(_) => Err(StoreError::Backend(
                "the write group ended without a commit".to_owned(),
            )),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let (Some(tx), Some(turn)) = (self.tx.take(), self.turn.take()) else {
            // PostgreSQL: sqlx rolls the transaction back when it drops.
            return;
        };
        // The rollback runs in a task of its own, holding the turn until it is done.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(turn.roll_back(tx));
            }
            Err(_) => drop((tx, turn)),
        }
    }
}

#[allow(clippy::expect_used, reason = "`tx` is present until commit or drop")]
impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.tx
            .as_ref()
            .expect("a write transaction is used until it ends")
    }
}

#[allow(clippy::expect_used, reason = "`tx` is present until commit or drop")]
impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.tx
            .as_mut()
            .expect("a write transaction is used until it ends")
    }
}

impl SqlStore {
    /// A write transaction; on SQLite, with this process's write turn (see [`WriteTurns`]).
    ///
    /// It begins in a task of its own: a caller dropped while SQLite's worker acknowledges the
    /// `BEGIN` (a client hanging up, a job stopped) would otherwise lose the transaction that
    /// has just begun, and its pooled connection would stay inside it, holding the write lock.
    /// The task always ends with a `WriteTx`, which rolls back if nobody takes it.
    pub(crate) async fn begin_write(&self, sharing: Sharing) -> Result<WriteTx, StoreError> {
        let (pool, turns) = (self.pool.clone(), self.write_turns.clone());
        tokio::spawn(async move {
            match turns {
                None => Ok(WriteTx {
                    tx: Some(pool.begin().await.map_err(backend)?),
                    turn: None,
                }),
                Some(turns) => begin_sqlite(pool, turns, sharing).await,
            }
        })
        .await
        .map_err(|e| StoreError::Backend(format!("beginning a transaction: {e}")))?
    }
}

async fn begin_sqlite(
    pool: AnyPool,
    turns: Arc<WriteTurns>,
    sharing: Sharing,
) -> Result<WriteTx, StoreError> {
    turns.waiting.fetch_add(1, Ordering::AcqRel);
    // Never closed, so the wait always ends with the turn.
    let permit = turns.turn.clone().acquire_owned().await;
    turns.waiting.fetch_sub(1, Ordering::AcqRel);
    let permit =
        permit.map_err(|_| StoreError::Backend("the write turns were closed".to_owned()))?;
    let mut turn = Turn {
        turns: turns.clone(),
        _permit: permit,
        sharing,
        began: Instant::now(),
        earlier: Vec::new(),
        opened_next: false,
    };
    match turns.take_open() {
        Some(mut group) if sharing == Sharing::Group => {
            let savepoint = if group.savepoint_open {
                Ok(())
            } else {
                group.tx.execute("SAVEPOINT stride_write").await.map(drop)
            };
            if let Err(e) = savepoint {
                let _ = group.tx.rollback().await;
                let e = backend(e);
                tell(
                    group.members,
                    &Err(format!("the write group was rolled back: {e}")),
                );
                return Err(e);
            }
            turn.began = group.began;
            turn.earlier = group.members;
            return Ok(WriteTx {
                tx: Some(group.tx),
                turn: Some(turn),
            });
        }
        Some(group) => {
            // A long write commits the group before it, then begins its own.
            turns.commit(group.tx, group.members).await;
        }
        None => {}
    }
    let tx = pool
        .begin_with(sharing.sqlite_begin())
        .await
        .map_err(backend)?;
    Ok(WriteTx {
        tx: Some(tx),
        turn: Some(turn),
    })
}
