-- Contracts (CON-1…3). Every revision is a row: an amendment copies the signed contract into a
-- new draft with the same number and the next revision, and the old one stays as it was.
CREATE TABLE contract_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    number_pattern TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at_ms INTEGER NOT NULL
);
INSERT INTO contract_settings (id, number_pattern, updated_at_ms) VALUES (1, 'HT-{yyyy}-{seq:5}', 0);

-- The last sequence number used in each series (the number with its sequence left out).
CREATE TABLE contract_number_series (
    series TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    -- The first revision's id; every revision of one contract shares it.
    root_id INTEGER,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    opportunity_id INTEGER REFERENCES opportunities (id),
    title TEXT NOT NULL,
    our_party TEXT NOT NULL,
    customer_party TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    lines TEXT NOT NULL DEFAULT '[]',
    payment_terms TEXT,
    delivery_period TEXT,
    acceptance_criteria TEXT,
    liability TEXT,
    confidentiality TEXT,
    ip_clause TEXT,
    status TEXT NOT NULL,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    department_id INTEGER NOT NULL REFERENCES departments (id),
    drafted_by INTEGER REFERENCES users (id),
    signing_method TEXT,
    signed_on TEXT,
    customer_signatory TEXT,
    signed_at_ms INTEGER,
    archive_due_at_ms INTEGER,
    archived_at_ms INTEGER,
    scan_attachment_id INTEGER,
    archive_flagged_at_ms INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX contracts_number ON contracts (number, revision);
CREATE INDEX contracts_owner ON contracts (owner_id, id);
CREATE INDEX contracts_department ON contracts (department_id, id);
CREATE INDEX contracts_customer ON contracts (customer_id, id);
CREATE INDEX contracts_opportunity ON contracts (opportunity_id);
CREATE INDEX contracts_archive_due ON contracts (status, archive_due_at_ms);

CREATE TABLE contract_milestones (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id INTEGER NOT NULL REFERENCES contracts (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    due_on TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0)
);
CREATE INDEX contract_milestones_contract ON contract_milestones (contract_id, position);
