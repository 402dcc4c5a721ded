-- Duplicate keys and name bigrams are compared bytewise. They are normalised identifiers, found by
-- equality and never shown in order, so the database's linguistic collation bought nothing and
-- cost a collation call on every comparison of every index insert and probe (4 % of the server's
-- time in a lead import on a C.UTF-8 database, more under zh_CN or en_US). Bytewise is also the
-- order the store sorts bigrams in before inserting them (name_index.rs). The indexes are rebuilt.
ALTER TABLE customers
    ALTER COLUMN name_key TYPE TEXT COLLATE "C",
    ALTER COLUMN phone_key TYPE TEXT COLLATE "C",
    ALTER COLUMN email_key TYPE TEXT COLLATE "C",
    ALTER COLUMN credit_code TYPE TEXT COLLATE "C";
ALTER TABLE contacts
    ALTER COLUMN phone_key TYPE TEXT COLLATE "C",
    ALTER COLUMN email_key TYPE TEXT COLLATE "C";
ALTER TABLE leads
    ALTER COLUMN company_key TYPE TEXT COLLATE "C",
    ALTER COLUMN phone_key TYPE TEXT COLLATE "C",
    ALTER COLUMN email_key TYPE TEXT COLLATE "C",
    ALTER COLUMN credit_code TYPE TEXT COLLATE "C";
ALTER TABLE customer_name_bigrams ALTER COLUMN gram TYPE TEXT COLLATE "C";
ALTER TABLE contact_name_bigrams ALTER COLUMN gram TYPE TEXT COLLATE "C";
ALTER TABLE lead_name_bigrams ALTER COLUMN gram TYPE TEXT COLLATE "C";
