-- Customer tiers over time (CUST-3), and periodic jobs that must run once per period.
CREATE TABLE customer_tiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    tier TEXT NOT NULL,
    score INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX customer_tiers_customer ON customer_tiers (customer_id, id);

CREATE TABLE job_runs (
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (job, period)
);
