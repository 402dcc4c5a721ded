-- The board's column totals per (department, stage): the sums of migration 0019's rows per
-- (department, owner, stage), kept by a trigger on those rows, so a team's board reads one row
-- a column instead of one per rep and column. Every change of a per-owner row (a deal created,
-- moved, re-priced, handed over, or a stage re-weighted) passes its difference on.
CREATE TABLE opportunity_department_sums (
    department_id BIGINT NOT NULL,
    stage TEXT NOT NULL,
    n BIGINT NOT NULL,
    total_fen BIGINT NOT NULL,
    weighted_fen BIGINT NOT NULL,
    PRIMARY KEY (department_id, stage)
);

INSERT INTO opportunity_department_sums (department_id, stage, n, total_fen, weighted_fen)
SELECT department_id, stage, SUM(n), SUM(total_fen), SUM(weighted_fen)
FROM opportunity_stage_sums
GROUP BY department_id, stage;

CREATE FUNCTION opportunity_department_sums_add(
    p_department BIGINT, p_stage TEXT, p_n BIGINT, p_total BIGINT, p_weighted BIGINT
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO opportunity_department_sums VALUES (p_department, p_stage, 0, 0, 0)
    ON CONFLICT DO NOTHING;
    UPDATE opportunity_department_sums
    SET n = n + p_n, total_fen = total_fen + p_total, weighted_fen = weighted_fen + p_weighted
    WHERE department_id = p_department AND stage = p_stage;
END $$;

CREATE FUNCTION opportunity_department_sums_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM opportunity_department_sums_add(OLD.department_id, OLD.stage,
            -OLD.n, -OLD.total_fen, -OLD.weighted_fen);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM opportunity_department_sums_add(NEW.department_id, NEW.stage,
            NEW.n, NEW.total_fen, NEW.weighted_fen);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER opportunity_department_sums_follow
    AFTER INSERT OR UPDATE OR DELETE ON opportunity_stage_sums
    FOR EACH ROW EXECUTE FUNCTION opportunity_department_sums_follow();

-- A deal that changes column updates two columns' rows, which two writers in one team could
-- reach in opposite orders; each deal's two shares are now applied in (department, stage)
-- order, so they wait for each other instead of deadlocking.
CREATE OR REPLACE FUNCTION opportunity_sums_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.department_id, NEW.stage) < (OLD.department_id, OLD.stage) THEN
        PERFORM opportunity_sums_add(NEW.department_id, NEW.owner_id, NEW.stage,
            NEW.amount_fen, NEW.probability_override, 1);
        PERFORM opportunity_sums_add(OLD.department_id, OLD.owner_id, OLD.stage,
            OLD.amount_fen, OLD.probability_override, -1);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM opportunity_sums_add(OLD.department_id, OLD.owner_id, OLD.stage,
            OLD.amount_fen, OLD.probability_override, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM opportunity_sums_add(NEW.department_id, NEW.owner_id, NEW.stage,
            NEW.amount_fen, NEW.probability_override, 1);
    END IF;
    RETURN NULL;
END $$;
