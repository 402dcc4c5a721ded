-- The kanban board within a data scope: per stage, the newest cards (walking `id` backwards)
-- and the column totals (amount and probability read from the index alone), for a team's
-- departments and for the owner-only scope or owner filter.
CREATE INDEX opportunities_department_stage
    ON opportunities (department_id, stage, id, amount_fen, probability_override);
CREATE INDEX opportunities_owner_stage
    ON opportunities (owner_id, stage, id, amount_fen, probability_override);
