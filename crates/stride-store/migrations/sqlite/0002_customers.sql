-- Customers (客户) and contacts (联系人), with the keys duplicate detection compares.
CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    industry TEXT,
    size TEXT,
    region TEXT,
    address TEXT,
    website TEXT,
    credit_code TEXT,
    phone TEXT,
    phone_key TEXT,
    email TEXT,
    email_key TEXT,
    needs TEXT,
    stage TEXT,
    tier TEXT NOT NULL DEFAULT 'ordinary',
    credit_rating TEXT,
    credit_limit_minor INTEGER NOT NULL DEFAULT 0,
    owner_id INTEGER REFERENCES users (id),
    department_id INTEGER REFERENCES departments (id),
    last_activity_at_ms INTEGER,
    next_follow_up_at_ms INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX customers_credit_code ON customers (credit_code);
CREATE INDEX customers_name_key ON customers (name_key);
CREATE INDEX customers_phone_key ON customers (phone_key);
CREATE INDEX customers_email_key ON customers (email_key);
CREATE INDEX customers_owner ON customers (owner_id, id);
CREATE INDEX customers_department ON customers (department_id, id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    name TEXT NOT NULL,
    title TEXT,
    phone TEXT,
    phone_key TEXT,
    email TEXT,
    email_key TEXT,
    wechat TEXT,
    decision_role TEXT,
    notes TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX contacts_customer ON contacts (customer_id, id);
CREATE INDEX contacts_phone_key ON contacts (phone_key);
CREATE INDEX contacts_email_key ON contacts (email_key);
