-- Nothing to change: SQLite compares text bytewise (BINARY) unless a column says otherwise, which
-- is what PostgreSQL's keys and bigrams now do too (postgres/0028_keys_compared_bytewise.sql).
SELECT 1;
