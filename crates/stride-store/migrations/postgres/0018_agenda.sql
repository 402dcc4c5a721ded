-- The agenda shows a rep's follow-ups whose activity is the latest of its customer (or, for an
-- activity of a lead not yet converted, of its lead). Judging that per candidate row at read time
-- cost a probe per row; instead each activity carries whether a later one of the same record has
-- superseded it, kept by the write path (recording an activity, converting a lead, merging
-- customers), so the agenda reads only live follow-ups straight from a partial index.
ALTER TABLE activities ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
UPDATE activities SET superseded = 1
WHERE EXISTS (SELECT 1 FROM activities later
              WHERE later.customer_id = activities.customer_id AND later.id > activities.id)
   OR (activities.customer_id IS NULL AND EXISTS (SELECT 1 FROM activities later
              WHERE later.lead_id = activities.lead_id AND later.id > activities.id));
-- The follow-up calendar reads every follow-up of a rep in a time range, superseded or not.
DROP INDEX activities_agenda;
CREATE INDEX activities_follow_ups ON activities (owner_id, next_follow_up_at_ms)
    WHERE next_follow_up_at_ms IS NOT NULL;
CREATE INDEX activities_agenda ON activities (owner_id, next_follow_up_at_ms)
    WHERE next_follow_up_at_ms IS NOT NULL AND superseded = 0;

-- Leads carry the unified social credit code (统一社会信用代码) their customer will have;
-- duplicate detection looks it up.
CREATE INDEX leads_credit_code ON leads (credit_code) WHERE credit_code IS NOT NULL;
