-- The search box's name bigrams (migration 0021) are written by the store beside every write of
-- a name, with the rule the search splits its words by (stride-store `name_index`), instead of
-- by these triggers: they wrote the rule again in SQL, and computing it was over a third of
-- their cost in a lead import. The bigrams already stored stay as they are.
DROP TRIGGER customer_name_bigrams_insert ON customers;
DROP TRIGGER customer_name_bigrams_update ON customers;
DROP TRIGGER customer_name_bigrams_delete ON customers;
DROP TRIGGER contact_name_bigrams_insert ON contacts;
DROP TRIGGER contact_name_bigrams_update ON contacts;
DROP TRIGGER contact_name_bigrams_delete ON contacts;
DROP TRIGGER lead_name_bigrams_insert ON leads;
DROP TRIGGER lead_name_bigrams_update ON leads;
DROP TRIGGER lead_name_bigrams_delete ON leads;
DROP FUNCTION name_bigrams_follow();
DROP FUNCTION name_bigrams(TEXT);
