-- A monthly job over every customer (the re-tiering) runs in batches, one transaction each, so
-- it never holds the database for the whole run. A run records where the next batch starts
-- (NULL once finished; runs recorded before batches count as finished) and until when the
-- server working on it holds it: a server that stops mid-run leaves a run another resumes once
-- the hold has lapsed.
ALTER TABLE job_runs ADD COLUMN resume_from_id BIGINT;
ALTER TABLE job_runs ADD COLUMN held_until_ms BIGINT NOT NULL DEFAULT 0;
