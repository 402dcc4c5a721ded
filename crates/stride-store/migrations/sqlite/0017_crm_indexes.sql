-- The agenda reads a rep's activities with a follow-up before the end of today, then keeps those
-- no later activity of the same customer or lead supersedes. Carrying the customer and the lead
-- in the index lets it judge every candidate from the index and read only the rows it returns;
-- activities without a follow-up never enter it. It serves the follow-up calendar too, so it
-- replaces the index on (owner_id, next_follow_up_at_ms).
CREATE INDEX activities_agenda ON activities (owner_id, next_follow_up_at_ms, customer_id, lead_id)
    WHERE next_follow_up_at_ms IS NOT NULL;
DROP INDEX activities_owner_follow_up;
