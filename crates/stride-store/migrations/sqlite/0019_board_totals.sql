-- The kanban board's column totals per (department, owner, stage), kept by triggers so a
-- board reads a few rows instead of summing every opportunity of a team on each request.
-- Each opportunity's weighted amount is rounded on its own, exactly as the board's direct sum
-- (`stride_domain::opportunities::weighted_amount`); rows whose count drops to 0 stay.
CREATE TABLE opportunity_stage_sums (
    department_id INTEGER NOT NULL,
    owner_id INTEGER NOT NULL,
    stage TEXT NOT NULL,
    n INTEGER NOT NULL,
    total_fen INTEGER NOT NULL,
    weighted_fen INTEGER NOT NULL,
    PRIMARY KEY (department_id, owner_id, stage)
);
CREATE INDEX opportunity_stage_sums_owner ON opportunity_stage_sums (owner_id, stage);

INSERT INTO opportunity_stage_sums (department_id, owner_id, stage, n, total_fen, weighted_fen)
SELECT o.department_id, o.owner_id, o.stage, COUNT(*), SUM(o.amount_fen),
       SUM((o.amount_fen * COALESCE(o.probability_override, s.probability) + 50) / 100)
FROM opportunities o JOIN opportunity_stages s ON s.code = o.stage
GROUP BY o.department_id, o.owner_id, o.stage;

CREATE TRIGGER opportunity_sums_insert AFTER INSERT ON opportunities
BEGIN
    INSERT OR IGNORE INTO opportunity_stage_sums VALUES (NEW.department_id, NEW.owner_id, NEW.stage, 0, 0, 0);
    UPDATE opportunity_stage_sums
    SET n = n + 1, total_fen = total_fen + NEW.amount_fen,
        weighted_fen = weighted_fen + (NEW.amount_fen * COALESCE(NEW.probability_override,
            (SELECT probability FROM opportunity_stages WHERE code = NEW.stage)) + 50) / 100
    WHERE department_id = NEW.department_id AND owner_id = NEW.owner_id AND stage = NEW.stage;
END;

CREATE TRIGGER opportunity_sums_delete AFTER DELETE ON opportunities
BEGIN
    UPDATE opportunity_stage_sums
    SET n = n - 1, total_fen = total_fen - OLD.amount_fen,
        weighted_fen = weighted_fen - (OLD.amount_fen * COALESCE(OLD.probability_override,
            (SELECT probability FROM opportunity_stages WHERE code = OLD.stage)) + 50) / 100
    WHERE department_id = OLD.department_id AND owner_id = OLD.owner_id AND stage = OLD.stage;
END;

CREATE TRIGGER opportunity_sums_update
AFTER UPDATE OF stage, amount_fen, probability_override, owner_id, department_id ON opportunities
BEGIN
    UPDATE opportunity_stage_sums
    SET n = n - 1, total_fen = total_fen - OLD.amount_fen,
        weighted_fen = weighted_fen - (OLD.amount_fen * COALESCE(OLD.probability_override,
            (SELECT probability FROM opportunity_stages WHERE code = OLD.stage)) + 50) / 100
    WHERE department_id = OLD.department_id AND owner_id = OLD.owner_id AND stage = OLD.stage;
    INSERT OR IGNORE INTO opportunity_stage_sums VALUES (NEW.department_id, NEW.owner_id, NEW.stage, 0, 0, 0);
    UPDATE opportunity_stage_sums
    SET n = n + 1, total_fen = total_fen + NEW.amount_fen,
        weighted_fen = weighted_fen + (NEW.amount_fen * COALESCE(NEW.probability_override,
            (SELECT probability FROM opportunity_stages WHERE code = NEW.stage)) + 50) / 100
    WHERE department_id = NEW.department_id AND owner_id = NEW.owner_id AND stage = NEW.stage;
END;

-- An administrator re-weighting a stage changes the weighted total of every deal in it.
CREATE TRIGGER opportunity_sums_reweigh AFTER UPDATE OF probability ON opportunity_stages
WHEN NEW.probability <> OLD.probability
BEGIN
    UPDATE opportunity_stage_sums
    SET weighted_fen = (
        SELECT COALESCE(SUM((o.amount_fen * COALESCE(o.probability_override, NEW.probability) + 50) / 100), 0)
        FROM opportunities o
        WHERE o.department_id = opportunity_stage_sums.department_id
          AND o.owner_id = opportunity_stage_sums.owner_id AND o.stage = NEW.code)
    WHERE stage = NEW.code;
END;
