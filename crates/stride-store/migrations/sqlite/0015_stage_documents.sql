-- The documents of the sales stages. What people write is kept as JSON in `body`; the columns
-- beside it are what rules and gates read. Revisions are rows: nothing written is overwritten
-- except a proposal version that is not yet approved.

-- 需求分析报告: one row per revision; each revision is sent and confirmed on its own.
CREATE TABLE needs_analyses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    revision INTEGER NOT NULL,
    body TEXT NOT NULL,
    meeting_at_ms INTEGER NOT NULL,
    send_due_at_ms INTEGER NOT NULL,
    sent_at_ms INTEGER,
    -- SHA-256 of the public confirmation link's secret; only the newest revision answers it.
    token_hash TEXT UNIQUE,
    confirmed_at_ms INTEGER,
    confirmed_by_name TEXT,
    confirmation_method TEXT,
    confirmation_comment TEXT,
    confirmation_recorded_by INTEGER REFERENCES users (id),
    -- The owner was told once that the report is late and unsent.
    late_notified INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users (id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (opportunity_id, revision)
);
CREATE INDEX needs_analyses_unsent ON needs_analyses (late_notified, send_due_at_ms);

-- 方案: versions; the newest decides the gate.
CREATE TABLE proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    version_no INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    version INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (opportunity_id, version_no)
);

-- 方案沟通记录表: presentations of a proposal and what the customer said.
CREATE TABLE proposal_presentations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    body TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX proposal_presentations_proposal ON proposal_presentations (proposal_id, id);

-- 商务谈判: the objections log.
CREATE TABLE objections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users (id),
    version INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX objections_opportunity ON objections (opportunity_id, id);

-- 合作意向书: one per opportunity, one row per revision.
CREATE TABLE letters_of_intent (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    revision INTEGER NOT NULL,
    body TEXT NOT NULL,
    signed INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users (id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (opportunity_id, revision)
);
