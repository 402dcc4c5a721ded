//! Sessions, API tokens, login throttling and idempotency keys.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::auth::{ApiToken, Principal};
use stride_app::idempotency::{IdempotencyClaim, StoredResponse};
use stride_app::StoreError;

use crate::org::{principal_from_rows, PRINCIPAL_COLUMNS, PRINCIPAL_JOINS};
use crate::sql::{col, flag, Sql};

type Result<T> = std::result::Result<T, StoreError>;

/// An idempotency key whose request never finished (a crashed server) is free again after this.
const ABANDONED_AFTER_MS: i64 = 5 * 60 * 1000;

/// A session as stored, live or expired: whether it is still live is the caller's question, so
/// that the answer can be kept (see `directory`) and asked again at any later time.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub principal: Principal,
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

pub async fn session(conn: &mut AnyConnection, hash: &str) -> Result<Option<StoredSession>> {
    let mut q = Sql::new(PRINCIPAL_COLUMNS);
    q.push(", s.csrf_token, s.expires_at_ms AS s_expires_at_ms FROM sessions s JOIN users u ON u.id = s.user_id");
    q.push(PRINCIPAL_JOINS)
        .push(" WHERE u.active = 1 AND s.token_hash = ");
    q.bind(hash.to_owned()).push(" ORDER BY r.id");
    let rows = q.fetch_all(conn).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let csrf_token: String = col(first, "csrf_token")?;
    let expires_at_ms: i64 = col(first, "s_expires_at_ms")?;
    Ok(principal_from_rows(&rows)?.map(|principal| StoredSession {
        principal,
        csrf_token,
        expires_at_ms,
    }))
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    hash: &str,
    user_id: i64,
    csrf: &str,
    now: i64,
    expires: i64,
) -> Result<()> {
    // Expired sessions of anyone are swept on the way; logins are rare enough for this to be cheap.
    let mut q = Sql::new("DELETE FROM sessions WHERE expires_at_ms <= ");
    q.bind(now);
    q.execute(conn).await?;
    let mut q = Sql::new("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at_ms, expires_at_ms) VALUES (");
    q.bind(hash.to_owned())
        .push(", ")
        .bind(user_id)
        .push(", ")
        .bind(csrf.to_owned())
        .push(", ");
    q.bind(now).push(", ").bind(expires).push(")");
    q.execute(conn).await.map(drop)
}

pub async fn delete_session(conn: &mut AnyConnection, hash: &str) -> Result<()> {
    let mut q = Sql::new("DELETE FROM sessions WHERE token_hash = ");
    q.bind(hash.to_owned());
    q.execute(conn).await.map(drop)
}

pub async fn delete_sessions_of(
    conn: &mut AnyConnection,
    user_id: i64,
    except: Option<&str>,
) -> Result<()> {
    let mut q = Sql::new("DELETE FROM sessions WHERE user_id = ");
    q.bind(user_id);
    if let Some(keep) = except {
        q.push(" AND token_hash <> ").bind(keep.to_owned());
    }
    q.execute(conn).await.map(drop)
}

const TOKEN_COLUMNS: &str =
    "SELECT id, user_id, name, prefix, read_only, created_at_ms, revoked_at_ms FROM api_tokens";

fn token(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        name: col(row, "name")?,
        prefix: col(row, "prefix")?,
        read_only: flag(row, "read_only")?,
        created_at_ms: col(row, "created_at_ms")?,
        revoked_at_ms: col(row, "revoked_at_ms")?,
    })
}

pub async fn principal_by_token(
    conn: &mut AnyConnection,
    hash: &str,
) -> Result<Option<(Principal, ApiToken)>> {
    let mut q = Sql::new(PRINCIPAL_COLUMNS);
    q.push(
        ", t.id AS t_id, t.user_id AS t_user_id, t.name AS t_name, t.prefix AS t_prefix, \
         t.read_only AS t_read_only, t.created_at_ms AS t_created_at_ms, t.revoked_at_ms AS t_revoked_at_ms \
         FROM api_tokens t JOIN users u ON u.id = t.user_id",
    );
    q.push(PRINCIPAL_JOINS)
        .push(" WHERE u.active = 1 AND t.revoked_at_ms IS NULL AND t.token_hash = ");
    q.bind(hash.to_owned()).push(" ORDER BY r.id");
    let rows = q.fetch_all(conn).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let token = ApiToken {
        id: col(first, "t_id")?,
        user_id: col(first, "t_user_id")?,
        name: col(first, "t_name")?,
        prefix: col(first, "t_prefix")?,
        read_only: flag(first, "t_read_only")?,
        created_at_ms: col(first, "t_created_at_ms")?,
        revoked_at_ms: col(first, "t_revoked_at_ms")?,
    };
    Ok(principal_from_rows(&rows)?.map(|p| (p, token)))
}

pub async fn tokens_of(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<ApiToken>> {
    let mut q = Sql::new(TOKEN_COLUMNS);
    q.push(" WHERE user_id = ")
        .bind(user_id)
        .push(" ORDER BY id DESC");
    q.fetch_all(conn).await?.iter().map(token).collect()
}

pub async fn token_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<ApiToken>> {
    let mut q = Sql::new(TOKEN_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(token)
        .transpose()
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    user_id: i64,
    name: &str,
    hash: &str,
    prefix: &str,
    read_only: bool,
    now: i64,
) -> Result<ApiToken> {
    let mut q = Sql::new("INSERT INTO api_tokens (user_id, name, token_hash, prefix, read_only, created_at_ms) VALUES (");
    q.bind(user_id)
        .push(", ")
        .bind(name.to_owned())
        .push(", ")
        .bind(hash.to_owned())
        .push(", ");
    q.bind(prefix.to_owned())
        .push(", ")
        .bind(i64::from(read_only))
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    token_by_id(conn, id).await?.ok_or(StoreError::NotFound)
}

pub async fn revoke_token(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    let mut q = Sql::new("UPDATE api_tokens SET revoked_at_ms = ");
    q.bind(now)
        .push(" WHERE revoked_at_ms IS NULL AND id = ")
        .bind(id);
    q.execute(conn).await.map(drop)
}

pub async fn revoke_tokens_of(conn: &mut AnyConnection, user_id: i64, now: i64) -> Result<()> {
    let mut q = Sql::new("UPDATE api_tokens SET revoked_at_ms = ");
    q.bind(now)
        .push(" WHERE revoked_at_ms IS NULL AND user_id = ")
        .bind(user_id);
    q.execute(conn).await.map(drop)
}

pub async fn throttle_hits(
    conn: &mut AnyConnection,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>)> {
    let mut q = Sql::new(
        "SELECT COUNT(*) AS n, MIN(at_ms) AS oldest FROM login_failures WHERE throttle_key = ",
    );
    q.bind(key.to_owned()).push(" AND at_ms > ").bind(since);
    let row = q.fetch_one(conn).await?;
    Ok((col(&row, "n")?, col(&row, "oldest")?))
}

pub async fn record_throttle_hits(
    conn: &mut AnyConnection,
    keys: &[String],
    at: i64,
) -> Result<()> {
    for key in keys {
        let mut q = Sql::new("INSERT INTO login_failures (throttle_key, at_ms) VALUES (");
        q.bind(key.clone()).push(", ").bind(at).push(")");
        q.execute(conn).await?;
    }
    Ok(())
}

pub async fn clear_throttle_hits(conn: &mut AnyConnection, key: &str) -> Result<()> {
    let mut q = Sql::new("DELETE FROM login_failures WHERE throttle_key = ");
    q.bind(key.to_owned());
    q.execute(conn).await.map(drop)
}

pub async fn claim_idempotency_key(
    conn: &mut AnyConnection,
    owner: &str,
    key: &str,
    hash: &str,
    now: i64,
) -> Result<IdempotencyClaim> {
    let mut q = Sql::new(
        "INSERT INTO idempotency_keys (owner, idem_key, request_hash, created_at_ms) VALUES (",
    );
    q.bind(owner.to_owned())
        .push(", ")
        .bind(key.to_owned())
        .push(", ")
        .bind(hash.to_owned())
        .push(", ")
        .bind(now);
    q.push(") ON CONFLICT (owner, idem_key) DO NOTHING");
    if q.execute(conn).await? == 1 {
        return Ok(IdempotencyClaim::Claimed);
    }
    let mut q = Sql::new("SELECT request_hash, status, content_type, body, created_at_ms FROM idempotency_keys WHERE owner = ");
    q.bind(owner.to_owned())
        .push(" AND idem_key = ")
        .bind(key.to_owned());
    let Some(row) = q.fetch_optional(conn).await? else {
        return Ok(IdempotencyClaim::InFlight);
    };
    if col::<String>(&row, "request_hash")? != hash {
        return Ok(IdempotencyClaim::Mismatch);
    }
    match col::<Option<i64>>(&row, "status")? {
        Some(status) => Ok(IdempotencyClaim::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            content_type: col::<Option<String>>(&row, "content_type")?.unwrap_or_default(),
            body: col::<Option<String>>(&row, "body")?.unwrap_or_default(),
        })),
        None => {
            // Take over a claim whose server died before answering; exactly one taker wins.
            let mut q = Sql::new("UPDATE idempotency_keys SET created_at_ms = ");
            q.bind(now)
                .push(" WHERE owner = ")
                .bind(owner.to_owned())
                .push(" AND idem_key = ")
                .bind(key.to_owned());
            q.push(" AND status IS NULL AND created_at_ms < ")
                .bind(now - ABANDONED_AFTER_MS);
            Ok(if q.execute(conn).await? == 1 {
                IdempotencyClaim::Claimed
            } else {
                IdempotencyClaim::InFlight
            })
        }
    }
}

pub async fn complete_idempotency_key(
    conn: &mut AnyConnection,
    owner: &str,
    key: &str,
    r: &StoredResponse,
) -> Result<()> {
    let mut q = Sql::new("UPDATE idempotency_keys SET status = ");
    q.bind(i64::from(r.status))
        .push(", content_type = ")
        .bind(r.content_type.clone());
    q.push(", body = ")
        .bind(r.body.clone())
        .push(" WHERE owner = ")
        .bind(owner.to_owned());
    q.push(" AND idem_key = ").bind(key.to_owned());
    q.execute(conn).await.map(drop)
}

pub async fn release_idempotency_key(
    conn: &mut AnyConnection,
    owner: &str,
    key: &str,
) -> Result<()> {
    let mut q = Sql::new("DELETE FROM idempotency_keys WHERE status IS NULL AND owner = ");
    q.bind(owner.to_owned())
        .push(" AND idem_key = ")
        .bind(key.to_owned());
    q.execute(conn).await.map(drop)
}
