-- The kanban board's column totals per (department, owner, stage), kept by triggers so a
-- board reads a few rows instead of summing every opportunity of a team on each request.
-- Each opportunity's weighted amount is rounded on its own, exactly as the board's direct sum
-- (`stride_domain::opportunities::weighted_amount`); rows whose count drops to 0 stay.
CREATE TABLE opportunity_stage_sums (
    department_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    stage TEXT NOT NULL,
    n BIGINT NOT NULL,
    total_fen BIGINT NOT NULL,
    weighted_fen BIGINT NOT NULL,
    PRIMARY KEY (department_id, owner_id, stage)
);
CREATE INDEX opportunity_stage_sums_owner ON opportunity_stage_sums (owner_id, stage);

INSERT INTO opportunity_stage_sums (department_id, owner_id, stage, n, total_fen, weighted_fen)
SELECT o.department_id, o.owner_id, o.stage, COUNT(*), SUM(o.amount_fen),
       SUM((o.amount_fen * COALESCE(o.probability_override, s.probability) + 50) / 100)
FROM opportunities o JOIN opportunity_stages s ON s.code = o.stage
GROUP BY o.department_id, o.owner_id, o.stage;

-- Adds (sign 1) or removes (sign -1) one opportunity's share of its column.
CREATE FUNCTION opportunity_sums_add(
    p_department BIGINT, p_owner BIGINT, p_stage TEXT, p_amount BIGINT, p_override BIGINT, p_sign BIGINT
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO opportunity_stage_sums VALUES (p_department, p_owner, p_stage, 0, 0, 0)
    ON CONFLICT DO NOTHING;
    UPDATE opportunity_stage_sums
    SET n = n + p_sign, total_fen = total_fen + p_sign * p_amount,
        weighted_fen = weighted_fen + p_sign * ((p_amount * COALESCE(p_override,
            (SELECT probability FROM opportunity_stages WHERE code = p_stage)) + 50) / 100)
    WHERE department_id = p_department AND owner_id = p_owner AND stage = p_stage;
END $$;

CREATE FUNCTION opportunity_sums_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

CREATE TRIGGER opportunity_sums_insert_delete AFTER INSERT OR DELETE ON opportunities
    FOR EACH ROW EXECUTE FUNCTION opportunity_sums_follow();
CREATE TRIGGER opportunity_sums_update
    AFTER UPDATE OF stage, amount_fen, probability_override, owner_id, department_id ON opportunities
    FOR EACH ROW EXECUTE FUNCTION opportunity_sums_follow();

-- An administrator re-weighting a stage changes the weighted total of every deal in it. Writers
-- of opportunities wait meanwhile, so none adds a share weighted by the old probability.
CREATE FUNCTION opportunity_sums_reweigh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE opportunities IN SHARE MODE;
    UPDATE opportunity_stage_sums ss
    SET weighted_fen = (
        SELECT COALESCE(SUM((o.amount_fen * COALESCE(o.probability_override, NEW.probability) + 50) / 100), 0)
        FROM opportunities o
        WHERE o.department_id = ss.department_id AND o.owner_id = ss.owner_id AND o.stage = NEW.code)
    WHERE ss.stage = NEW.code;
    RETURN NULL;
END $$;

CREATE TRIGGER opportunity_sums_reweigh AFTER UPDATE OF probability ON opportunity_stages
    FOR EACH ROW WHEN (NEW.probability <> OLD.probability)
    EXECUTE FUNCTION opportunity_sums_reweigh();
