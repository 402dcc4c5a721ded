-- The approval engine (APPR-1…3): one flow per document kind; a request per submission of a
-- record, holding a copy of the flow it runs; one task per approver and step; the history of
-- every action; delegations while someone is away.
CREATE TABLE approval_flows (
    kind TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE approval_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    record_version INTEGER NOT NULL,
    title TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    discount_bp INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    definition TEXT NOT NULL,
    requester_id INTEGER NOT NULL REFERENCES users (id),
    department_id INTEGER NOT NULL REFERENCES departments (id),
    status TEXT NOT NULL,
    current_step INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    decided_at_ms INTEGER
);
CREATE INDEX approval_requests_record ON approval_requests (record_kind, record_id, id);
CREATE INDEX approval_requests_requester ON approval_requests (requester_id, id);
-- At most one running request per record, even when two submissions race.
CREATE UNIQUE INDEX approval_requests_one_open ON approval_requests (record_kind, record_id)
    WHERE status = 'pending';

CREATE TABLE approval_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES approval_requests (id),
    step_index INTEGER NOT NULL,
    step_name TEXT NOT NULL,
    mode TEXT NOT NULL,
    approver_id INTEGER NOT NULL REFERENCES users (id),
    on_behalf_of INTEGER REFERENCES users (id),
    status TEXT NOT NULL,
    comment TEXT,
    created_at_ms INTEGER NOT NULL,
    decided_at_ms INTEGER,
    reminded_at_ms INTEGER
);
CREATE INDEX approval_tasks_request ON approval_tasks (request_id, step_index);
CREATE INDEX approval_tasks_approver ON approval_tasks (approver_id, status, id);

CREATE TABLE approval_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES approval_requests (id),
    at_ms INTEGER NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    action TEXT NOT NULL,
    step_index INTEGER,
    comment TEXT
);
CREATE INDEX approval_events_request ON approval_events (request_id, id);

CREATE TABLE approval_delegations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    delegate_id INTEGER NOT NULL REFERENCES users (id),
    starts_at_ms INTEGER NOT NULL,
    ends_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX approval_delegations_user ON approval_delegations (user_id, ends_at_ms);
