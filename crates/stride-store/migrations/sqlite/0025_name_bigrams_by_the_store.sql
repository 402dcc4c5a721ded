-- The search box's name bigrams (migration 0021) are written by the store beside every write of
-- a name, with the rule the search splits its words by (stride-store `name_index`), instead of
-- by these triggers: they wrote the rule again in SQL and computed it row by row, which was over
-- a third of a lead import's time. The bigrams already stored stay as they are.
DROP TRIGGER customer_name_bigrams_insert;
DROP TRIGGER customer_name_bigrams_rename;
DROP TRIGGER customer_name_bigrams_delete;
DROP TRIGGER contact_name_bigrams_insert;
DROP TRIGGER contact_name_bigrams_rename;
DROP TRIGGER contact_name_bigrams_delete;
DROP TRIGGER lead_name_bigrams_insert;
DROP TRIGGER lead_name_bigrams_rename;
DROP TRIGGER lead_name_bigrams_delete;
DROP TABLE name_bigram_positions;
