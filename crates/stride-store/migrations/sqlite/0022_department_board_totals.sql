-- The board's column totals per (department, stage): the sums of migration 0019's rows per
-- (department, owner, stage), kept by triggers on those rows, so a team's board reads one row
-- a column instead of one per rep and column. Every change of a per-owner row (a deal created,
-- moved, re-priced, handed over, or a stage re-weighted) passes its difference on.
CREATE TABLE opportunity_department_sums (
    department_id INTEGER NOT NULL,
    stage TEXT NOT NULL,
    n INTEGER NOT NULL,
    total_fen INTEGER NOT NULL,
    weighted_fen INTEGER NOT NULL,
    PRIMARY KEY (department_id, stage)
);

INSERT INTO opportunity_department_sums (department_id, stage, n, total_fen, weighted_fen)
SELECT department_id, stage, SUM(n), SUM(total_fen), SUM(weighted_fen)
FROM opportunity_stage_sums
GROUP BY department_id, stage;

CREATE TRIGGER opportunity_department_sums_insert AFTER INSERT ON opportunity_stage_sums
BEGIN
    INSERT OR IGNORE INTO opportunity_department_sums VALUES (NEW.department_id, NEW.stage, 0, 0, 0);
    UPDATE opportunity_department_sums
    SET n = n + NEW.n, total_fen = total_fen + NEW.total_fen,
        weighted_fen = weighted_fen + NEW.weighted_fen
    WHERE department_id = NEW.department_id AND stage = NEW.stage;
END;

CREATE TRIGGER opportunity_department_sums_update AFTER UPDATE ON opportunity_stage_sums
BEGIN
    UPDATE opportunity_department_sums
    SET n = n - OLD.n, total_fen = total_fen - OLD.total_fen,
        weighted_fen = weighted_fen - OLD.weighted_fen
    WHERE department_id = OLD.department_id AND stage = OLD.stage;
    INSERT OR IGNORE INTO opportunity_department_sums VALUES (NEW.department_id, NEW.stage, 0, 0, 0);
    UPDATE opportunity_department_sums
    SET n = n + NEW.n, total_fen = total_fen + NEW.total_fen,
        weighted_fen = weighted_fen + NEW.weighted_fen
    WHERE department_id = NEW.department_id AND stage = NEW.stage;
END;

CREATE TRIGGER opportunity_department_sums_delete AFTER DELETE ON opportunity_stage_sums
BEGIN
    UPDATE opportunity_department_sums
    SET n = n - OLD.n, total_fen = total_fen - OLD.total_fen,
        weighted_fen = weighted_fen - OLD.weighted_fen
    WHERE department_id = OLD.department_id AND stage = OLD.stage;
END;
