-- The index of names no longer keeps the bigrams of the legal forms most company names end with
-- (有限公司, 股份有限公司): a quarter of a lead import's postings, and never a useful bigram to
-- read a search through (stride-store/src/name_index.rs, `UNKEPT`).
DELETE FROM customer_name_bigrams WHERE gram IN ('有限', '限公', '公司', '股份', '份有');
DELETE FROM contact_name_bigrams WHERE gram IN ('有限', '限公', '公司', '股份', '份有');
DELETE FROM lead_name_bigrams WHERE gram IN ('有限', '限公', '公司', '股份', '份有');
