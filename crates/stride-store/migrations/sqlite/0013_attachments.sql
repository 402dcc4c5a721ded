-- Files attached to records. The bytes live under the data directory, named by their SHA-256,
-- so equal files share one copy; these rows say which record holds which file under which name.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_kind TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by INTEGER REFERENCES users (id),
    uploaded_by_name TEXT NOT NULL,
    uploaded_at_ms INTEGER NOT NULL
);
CREATE INDEX attachments_record ON attachments (record_kind, record_id, id);
CREATE INDEX attachments_content ON attachments (sha256);
