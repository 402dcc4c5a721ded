//! The directory — users and their roles, roles, departments, sessions and API tokens — is read
//! by every request (who is asking, what they may reach) and written rarely. Its reads are kept
//! in memory and all of them dropped whenever anyone commits a change to it:
//! - this process, at the commit of a transaction that wrote it (`SqlTx::directory_conn`);
//! - any other process, through the database: on PostgreSQL a trigger announces each change on
//!   the channel `stride_directory`, which every server listens to; on SQLite a trigger counts
//!   the changes in `directory_changes`, which every server reads every [`SQLITE_POLL`].
//!
//! A read is kept only under the generation it began in, so a read that raced a change is never
//! served after the change is known. While other processes' changes cannot be heard (before the
//! listener or the counter answers, after a lost connection) nothing is kept or served. Hearing
//! starts with the first read, so a process that never reads the directory never listens.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::AnyPool;
use stride_app::auth::{ApiToken, Principal};
use stride_app::org::User;
use stride_app::ports::StoreResult;
use stride_app::{DirectoryCounts, Reach};
use tokio::sync::oneshot;

use crate::auth::StoredSession;

/// How often a SQLite server reads the change counter: the longest another process's change to
/// the directory (say `stride user add` beside a running server) goes unseen here.
pub(crate) const SQLITE_POLL: Duration = Duration::from_millis(100);
/// How long a server waits before it tries to listen again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);
const CHANNEL: &str = "stride_directory";

/// What is kept of the directory in one server's memory.
pub(crate) struct Directory {
    /// Moves on at every change heard of; a kept read is served only in its own generation.
    generation: AtomicU64,
    /// Whether other processes' changes reach this server now.
    hearing: AtomicBool,
    kept: Mutex<Kept>,
    from_memory: AtomicU64,
    from_database: AtomicU64,
    /// Where changes are heard from, until the first read starts hearing them (see
    /// [`Directory::start_hearing`]), with the end of the task that will hear them.
    unstarted: Mutex<Option<(Source, oneshot::Receiver<()>)>>,
    started: AtomicBool,
    /// Dropped with the directory, which ends its listening task.
    _stop: oneshot::Sender<()>,
}

/// Where a server hears of other processes' changes to the directory.
pub(crate) enum Source {
    /// The `stride_directory` channel, on a connection of its own to this URL.
    Postgres(String),
    /// The `directory_changes` counter, read through the store's pool.
    Sqlite(AnyPool),
}

/// The kept reads, each kind on a shelf of its own with room for a bounded number of answers.
pub(crate) struct Kept {
    generation: u64,
    pub(crate) sessions: Shelf<String, Option<StoredSession>>,
    pub(crate) tokens: Shelf<String, Option<(Principal, ApiToken)>>,
    pub(crate) subtrees: Shelf<i64, Vec<i64>>,
    pub(crate) users: Shelf<(Reach, i64), Option<User>>,
}

impl Kept {
    fn new(generation: u64) -> Self {
        Self {
            generation,
            sessions: Shelf::new(10_000),
            tokens: Shelf::new(10_000),
            subtrees: Shelf::new(1_000),
            users: Shelf::new(10_000),
        }
    }
}

pub(crate) struct Shelf<K, V> {
    answers: HashMap<K, V>,
    room: usize,
}

impl<K: Hash + Eq, V> Shelf<K, V> {
    fn new(room: usize) -> Self {
        Self {
            answers: HashMap::new(),
            room,
        }
    }

    fn put(&mut self, key: K, answer: V) {
        // A full shelf starts over: simpler than ranking answers, and as cheap as a miss.
        if self.answers.len() >= self.room {
            self.answers.clear();
        }
        self.answers.insert(key, answer);
    }
}

impl Directory {
    pub(crate) fn new(source: Source) -> Arc<Self> {
        Self::hearing_from(Some(source))
    }

    fn hearing_from(source: Option<Source>) -> Arc<Self> {
        let (stop, stopped) = oneshot::channel();
        Arc::new(Self {
            generation: AtomicU64::new(0),
            hearing: AtomicBool::new(false),
            kept: Mutex::new(Kept::new(0)),
            from_memory: AtomicU64::new(0),
            from_database: AtomicU64::new(0),
            unstarted: Mutex::new(source.map(|source| (source, stopped))),
            started: AtomicBool::new(false),
            _stop: stop,
        })
    }

    /// Starts hearing other processes' changes the first time the directory is read: a process
    /// that never reads it (most commands) opens no listener and reads no counter.
    fn start_hearing(self: &Arc<Self>) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some((source, stopped)) = self.unstarted.lock().ok().and_then(|mut u| u.take()) else {
            return;
        };
        self.started.store(true, Ordering::Release);
        let directory = Arc::downgrade(self);
        match source {
            Source::Postgres(url) => drop(runtime.spawn(listen(directory, url, stopped))),
            Source::Sqlite(pool) => drop(runtime.spawn(poll(directory, pool, stopped))),
        }
    }

    /// Something in the directory changed: nothing read before is served again.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn counts(&self) -> DirectoryCounts {
        DirectoryCounts {
            hearing: self.hearing.load(Ordering::SeqCst),
            from_memory: self.from_memory.load(Ordering::Relaxed),
            from_database: self.from_database.load(Ordering::Relaxed),
        }
    }

    fn set_hearing(&self, hearing: bool) {
        self.hearing.store(hearing, Ordering::SeqCst);
    }

    /// The generation a read begins in, or `None` when it may be neither served nor kept.
    pub(crate) fn generation(self: &Arc<Self>) -> Option<u64> {
        self.start_hearing();
        self.hearing
            .load(Ordering::SeqCst)
            .then(|| self.generation.load(Ordering::SeqCst))
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // A panic while the lock was held leaves at worst a shelf half-written; start over.
        self.kept.lock().unwrap_or_else(|poisoned| {
            let mut kept = poisoned.into_inner();
            *kept = Kept::new(u64::MAX);
            kept
        })
    }

    /// The kept answer to `key`, or else `read`'s, which is kept when no change was heard of
    /// while it ran.
    pub(crate) async fn read_through<K, V>(
        self: &Arc<Self>,
        shelf: fn(&mut Kept) -> &mut Shelf<K, V>,
        key: K,
        read: impl Future<Output = StoreResult<V>>,
    ) -> StoreResult<V>
    where
        K: Hash + Eq,
        V: Clone,
    {
        let Some(since) = self.generation() else {
            self.from_database.fetch_add(1, Ordering::Relaxed);
            return read.await;
        };
        {
            let mut kept = self.kept();
            if kept.generation == since {
                if let Some(answer) = shelf(&mut kept).answers.get(&key) {
                    self.from_memory.fetch_add(1, Ordering::Relaxed);
                    return Ok(answer.clone());
                }
            }
        }
        self.from_database.fetch_add(1, Ordering::Relaxed);
        let answer = read.await?;
        let mut kept = self.kept();
        // Checked under the lock, so a change heard of meanwhile is never mixed with this read.
        if self.generation() == Some(since) {
            if kept.generation != since {
                *kept = Kept::new(since);
            }
            shelf(&mut kept).put(key, answer.clone());
        }
        Ok(answer)
    }
}

/// Waits for `stopped` or `wait`, whichever comes first; `None` when the directory is gone.
async fn unless_stopped<T>(
    stopped: &mut oneshot::Receiver<()>,
    wait: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        _ = stopped => None,
        done = wait => Some(done),
    }
}

/// Listens to PostgreSQL's announcements for as long as the directory lives, connecting again
/// after a failure. Changes announced while not listening are lost, so each (re)start drops
/// everything kept.
async fn listen(directory: Weak<Directory>, url: String, mut stopped: oneshot::Receiver<()>) {
    loop {
        let started = unless_stopped(&mut stopped, async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            // Before migration 26 nothing announces changes yet: not hearing, try again.
            let announced: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'directory_changed')",
            )
            .fetch_one(&mut listener)
            .await?;
            Ok::<_, sqlx::Error>(announced.then_some(listener))
        })
        .await;
        let Some(started) = started else { return };
        let Some(directory_now) = directory.upgrade() else {
            return;
        };
        match started {
            Ok(Some(mut listener)) => {
                directory_now.changed();
                directory_now.set_hearing(true);
                drop(directory_now);
                loop {
                    let Some(next) = unless_stopped(&mut stopped, listener.try_recv()).await else {
                        return;
                    };
                    let Some(directory_now) = directory.upgrade() else {
                        return;
                    };
                    match next {
                        Ok(Some(_)) => directory_now.changed(),
                        lost => {
                            directory_now.set_hearing(false);
                            directory_now.changed();
                            tracing::warn!(?lost, "lost the directory's change announcements");
                            break;
                        }
                    }
                }
            }
            Ok(None) => tracing::debug!("the directory's changes are not announced yet"),
            Err(error) => {
                tracing::debug!(%error, "cannot listen to the directory's changes")
            }
        }
        if unless_stopped(&mut stopped, tokio::time::sleep(RETRY_AFTER))
            .await
            .is_none()
        {
            return;
        }
    }
}

/// Reads SQLite's change counter every [`SQLITE_POLL`] for as long as the directory lives.
async fn poll(directory: Weak<Directory>, pool: AnyPool, mut stopped: oneshot::Receiver<()>) {
    let mut seen: Option<i64> = None;
    loop {
        let counted = unless_stopped(
            &mut stopped,
            sqlx::query_scalar::<_, i64>("SELECT n FROM directory_changes").fetch_one(&pool),
        )
        .await;
        let Some(counted) = counted else { return };
        let Some(directory_now) = directory.upgrade() else {
            return;
        };
        match counted {
            Ok(n) => {
                if seen != Some(n) {
                    directory_now.changed();
                    seen = Some(n);
                }
                directory_now.set_hearing(true);
            }
            Err(error) => {
                // Before migration 26, or a file that cannot be read: nothing is kept meanwhile.
                if seen.is_some() {
                    tracing::warn!(%error, "cannot read the directory's change counter");
                }
                directory_now.set_hearing(false);
                directory_now.changed();
                seen = None;
            }
        }
        drop(directory_now);
        if unless_stopped(&mut stopped, tokio::time::sleep(SQLITE_POLL))
            .await
            .is_none()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory told by hand whether it hears changes.
    fn hearing() -> Arc<Directory> {
        let directory = Directory::hearing_from(None);
        directory.set_hearing(true);
        directory
    }

    async fn subtree(directory: &Arc<Directory>, answer: Vec<i64>) -> Vec<i64> {
        directory
            .read_through(|k| &mut k.subtrees, 1, async { Ok(answer) })
            .await
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_kept_answer_is_served_until_a_change() {
        let directory = hearing();
        assert_eq!(subtree(&directory, vec![1, 2]).await, vec![1, 2]);
        assert_eq!(subtree(&directory, vec![9]).await, vec![1, 2]);
        directory.changed();
        assert_eq!(subtree(&directory, vec![1, 3]).await, vec![1, 3]);
        assert_eq!(subtree(&directory, vec![9]).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_read_that_raced_a_change_is_not_kept() {
        let directory = hearing();
        let raced = directory
            .read_through(|k| &mut k.subtrees, 1, async {
                directory.changed();
                Ok(vec![1, 2])
            })
            .await
            .unwrap_or_default();
        assert_eq!(raced, vec![1, 2]);
        assert_eq!(subtree(&directory, vec![1, 3]).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn nothing_is_kept_while_not_hearing() {
        let directory = hearing();
        directory.set_hearing(false);
        assert_eq!(subtree(&directory, vec![1, 2]).await, vec![1, 2]);
        directory.set_hearing(true);
        assert_eq!(subtree(&directory, vec![1, 3]).await, vec![1, 3]);
        assert_eq!(subtree(&directory, vec![9]).await, vec![1, 3]);
    }

    #[test]
    fn a_full_shelf_starts_over() {
        let mut shelf = Shelf::new(2);
        shelf.put(1, 'a');
        shelf.put(2, 'b');
        shelf.put(3, 'c');
        assert_eq!(shelf.answers.len(), 1);
        assert_eq!(shelf.answers.get(&3), Some(&'c'));
    }
}
