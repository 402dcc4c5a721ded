-- The in-app inbox, and the marks that make each background job act on an item once.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    subject TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    read_at_ms INTEGER
);
CREATE INDEX notifications_user ON notifications (user_id, id);

ALTER TABLE leads ADD COLUMN escalated_at_ms INTEGER;
ALTER TABLE customers ADD COLUMN pool_warned_at_ms INTEGER;
ALTER TABLE customers ADD COLUMN owned_since_ms INTEGER;
