-- Every change of a customer's credit rating or limit (CUST-5), and an index for the pool
-- jobs, which look for quiet customers one tier at a time.
CREATE TABLE customer_credit_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    rating_before TEXT,
    rating_after TEXT,
    limit_before_minor INTEGER NOT NULL,
    limit_after_minor INTEGER NOT NULL,
    changed_by INTEGER REFERENCES users (id),
    reason TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX customer_credit_history_customer ON customer_credit_history (customer_id, id);
CREATE INDEX customers_tier_owner ON customers (tier, owner_id);
