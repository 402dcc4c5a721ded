-- Leads (线索) with grading and response clocks, their grade history, and activities (跟进记录).
CREATE TABLE leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company TEXT NOT NULL,
    company_key TEXT NOT NULL,
    contact_name TEXT,
    title TEXT,
    phone TEXT,
    phone_key TEXT,
    email TEXT,
    email_key TEXT,
    source TEXT NOT NULL,
    industry TEXT,
    region TEXT,
    size TEXT,
    credit_code TEXT,
    need TEXT,
    budget TEXT,
    explicit_need INTEGER NOT NULL DEFAULT 0,
    budget_known INTEGER NOT NULL DEFAULT 0,
    decision_chain_known INTEGER NOT NULL DEFAULT 0,
    notes TEXT,
    grade TEXT NOT NULL,
    status TEXT NOT NULL,
    owner_id INTEGER REFERENCES users (id),
    department_id INTEGER REFERENCES departments (id),
    assigned_at_ms INTEGER,
    response_due_at_ms INTEGER,
    first_contact_at_ms INTEGER,
    next_nurture_at_ms INTEGER,
    disqualify_reason TEXT,
    customer_id INTEGER REFERENCES customers (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX leads_owner ON leads (owner_id, id);
CREATE INDEX leads_department ON leads (department_id, id);
CREATE INDEX leads_company_key ON leads (company_key);
CREATE INDEX leads_phone_key ON leads (phone_key);
CREATE INDEX leads_email_key ON leads (email_key);
CREATE INDEX leads_due ON leads (response_due_at_ms);

CREATE TABLE lead_grades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER NOT NULL REFERENCES leads (id),
    grade TEXT NOT NULL,
    by_rules INTEGER NOT NULL,
    actor_id INTEGER,
    at_ms INTEGER NOT NULL
);
CREATE INDEX lead_grades_lead ON lead_grades (lead_id, id);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER REFERENCES leads (id),
    customer_id INTEGER REFERENCES customers (id),
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    interest_points TEXT,
    pain_points TEXT,
    next_step TEXT,
    occurred_at_ms INTEGER NOT NULL,
    next_follow_up_at_ms INTEGER,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    department_id INTEGER REFERENCES departments (id),
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX activities_lead ON activities (lead_id, id);
CREATE INDEX activities_customer ON activities (customer_id, id);
CREATE INDEX activities_owner_follow_up ON activities (owner_id, next_follow_up_at_ms);
