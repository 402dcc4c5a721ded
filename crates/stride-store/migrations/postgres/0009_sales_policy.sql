-- The sales policy (grading, response clocks, pool, tiers) as JSON; NULL means the defaults.
ALTER TABLE org_settings ADD COLUMN sales_policy TEXT;
