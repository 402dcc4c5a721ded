//! Attachment metadata; the bytes live under the data directory.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::attachments::{Attachment, NewAttachment};
use stride_app::page::PageRequest;
use stride_app::ports::{AttachmentReads, AttachmentWrites};
use stride_app::StoreError;

use crate::sql::{col, Sql};
use crate::store::SqlTx;
use crate::{Dialect, SqlStore};

type Result<T> = std::result::Result<T, StoreError>;

const ATTACHMENT_COLUMNS: &str = "SELECT id, record_kind, record_id, file_name, content_type, \
    size_bytes, sha256, uploaded_by, uploaded_by_name, uploaded_at_ms FROM attachments";

fn attachment(row: &AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: col(row, "id")?,
        record_kind: col(row, "record_kind")?,
        record_id: col(row, "record_id")?,
        file_name: col(row, "file_name")?,
        content_type: col(row, "content_type")?,
        size_bytes: col(row, "size_bytes")?,
        sha256: col(row, "sha256")?,
        uploaded_by: col(row, "uploaded_by")?,
        uploaded_by_name: col(row, "uploaded_by_name")?,
        uploaded_at_ms: col(row, "uploaded_at_ms")?,
    })
}

pub async fn attachment_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Attachment>> {
    let mut q = Sql::new(ATTACHMENT_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(attachment)
        .transpose()
}

pub async fn attachments_of(
    conn: &mut AnyConnection,
    record_kind: &str,
    record_id: i64,
    page: PageRequest,
) -> Result<Vec<Attachment>> {
    let mut q = Sql::new(ATTACHMENT_COLUMNS);
    q.push(" WHERE record_kind = ")
        .bind(record_kind.to_owned())
        .push(" AND record_id = ")
        .bind(record_id);
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(attachment).collect()
}

pub async fn insert(conn: &mut AnyConnection, a: &NewAttachment) -> Result<Attachment> {
    let mut q = Sql::new(
        "INSERT INTO attachments (record_kind, record_id, file_name, content_type, size_bytes, \
         sha256, uploaded_by, uploaded_by_name, uploaded_at_ms) VALUES (",
    );
    q.bind(a.record_kind.clone())
        .push(", ")
        .bind(a.record_id)
        .push(", ")
        .bind(a.file_name.clone())
        .push(", ")
        .bind(a.content_type.clone())
        .push(", ")
        .bind(a.size_bytes)
        .push(", ")
        .bind(a.sha256.clone())
        .push(", ")
        .bind(a.uploaded_by)
        .push(", ")
        .bind(a.uploaded_by_name.clone())
        .push(", ")
        .bind(a.uploaded_at_ms)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    attachment_by_id(conn, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let mut q = Sql::new("DELETE FROM attachments WHERE id = ");
    q.bind(id);
    Ok(q.execute(conn).await? > 0)
}

pub async fn content_references(conn: &mut AnyConnection, sha256: &str) -> Result<i64> {
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM attachments WHERE sha256 = ");
    q.bind(sha256.to_owned());
    col(&q.fetch_one(conn).await?, "n")
}

/// A transaction-scoped PostgreSQL advisory lock keyed by the content hash. SQLite write
/// transactions are already serial.
async fn lock_content(conn: &mut AnyConnection, dialect: Dialect, sha256: &str) -> Result<()> {
    if dialect == Dialect::Postgres {
        // 60 bits of the hash: distinct contents rarely share a lock, and sharing one only waits.
        let key = i64::from_str_radix(sha256.get(..15).unwrap_or("0"), 16).unwrap_or(0);
        let mut q = Sql::new("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(");
        q.bind(key).push(")) AS l");
        q.fetch_one(conn).await?;
    }
    Ok(())
}

#[async_trait]
impl AttachmentReads for SqlStore {
    async fn attachment(&self, id: i64) -> Result<Option<Attachment>> {
        attachment_by_id(&mut *self.conn().await?, id).await
    }
    async fn attachments_of(
        &self,
        record_kind: &str,
        record_id: i64,
        page: PageRequest,
    ) -> Result<Vec<Attachment>> {
        attachments_of(&mut *self.conn().await?, record_kind, record_id, page).await
    }
}

#[async_trait]
impl AttachmentWrites for SqlTx {
    async fn lock_attachment_content(&mut self, sha256: &str) -> Result<()> {
        let dialect = self.dialect;
        lock_content(self.conn().await?, dialect, sha256).await
    }
    async fn insert_attachment(&mut self, new: &NewAttachment) -> Result<Attachment> {
        insert(self.conn().await?, new).await
    }
    async fn delete_attachment(&mut self, id: i64) -> Result<bool> {
        delete(self.conn().await?, id).await
    }
    async fn attachment_content_references(&mut self, sha256: &str) -> Result<i64> {
        content_references(self.conn().await?, sha256).await
    }
}
