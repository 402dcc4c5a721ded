-- Lead assignment rules (LEAD-5): the first matching rule picks a team; round-robin picks the rep.
CREATE TABLE assignment_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    region TEXT,
    industry TEXT,
    department_id INTEGER NOT NULL REFERENCES departments (id),
    created_at_ms INTEGER NOT NULL
);
