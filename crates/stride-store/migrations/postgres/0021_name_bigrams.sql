-- The search box (CUST-6) finds names by any substring. A LIKE '%…%' cannot use an index, so a
-- manager's search for a rare word read every customer and contact of the team; a two-character
-- Chinese word (华为) is too short for trigram indexes. Each searchable name is therefore also
-- kept as the set of its two-character pieces (bigrams), lower-cased exactly as the search
-- compares them: a name containing the words contains every bigram of the words, so the records
-- holding one of the word's bigrams are a superset of the matches, and the LIKE still decides.
-- Statement-level triggers keep them, so every writer (forms, API, import, merge, bulk loads)
-- does too, one statement per statement. Only bigrams with a character beyond ASCII are kept:
-- the search reads them only for words holding such a character (ASCII words scan, as they may
-- match e-mail and phone keys too), and any such word of two characters or more has at least
-- one. English names thus cost nothing.
CREATE FUNCTION name_bigrams(t TEXT) RETURNS SETOF TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT DISTINCT g FROM generate_series(1, char_length(t) - 1) AS n,
       LATERAL substr(lower(t), n, 2) AS g
   WHERE octet_length(g) > 2 $$;

CREATE TABLE customer_name_bigrams (gram TEXT NOT NULL, record_id BIGINT NOT NULL);
INSERT INTO customer_name_bigrams (gram, record_id)
SELECT g, r.id FROM customers r CROSS JOIN LATERAL name_bigrams(r.name) AS g;
ALTER TABLE customer_name_bigrams ADD PRIMARY KEY (gram, record_id);

CREATE FUNCTION customer_name_bigrams_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_name_bigrams (gram, record_id)
        SELECT g, n.id FROM new_rows n CROSS JOIN LATERAL name_bigrams(n.name) AS g
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM customer_name_bigrams b
        USING old_rows o CROSS JOIN LATERAL name_bigrams(o.name) AS g
        WHERE b.record_id = o.id AND b.gram = g;
    ELSE
        DELETE FROM customer_name_bigrams b
        USING old_rows o JOIN new_rows n ON n.id = o.id AND n.name IS DISTINCT FROM o.name
            CROSS JOIN LATERAL name_bigrams(o.name) AS g
        WHERE b.record_id = o.id AND b.gram = g;
        INSERT INTO customer_name_bigrams (gram, record_id)
        SELECT g, n.id FROM new_rows n JOIN old_rows o ON o.id = n.id AND n.name IS DISTINCT FROM o.name
            CROSS JOIN LATERAL name_bigrams(n.name) AS g
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER customer_name_bigrams_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_name_bigrams_follow();
CREATE TRIGGER customer_name_bigrams_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_name_bigrams_follow();
CREATE TRIGGER customer_name_bigrams_delete AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_name_bigrams_follow();

CREATE TABLE contact_name_bigrams (gram TEXT NOT NULL, record_id BIGINT NOT NULL);
INSERT INTO contact_name_bigrams (gram, record_id)
SELECT g, r.id FROM contacts r CROSS JOIN LATERAL name_bigrams(r.name) AS g;
ALTER TABLE contact_name_bigrams ADD PRIMARY KEY (gram, record_id);

CREATE FUNCTION contact_name_bigrams_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_name_bigrams (gram, record_id)
        SELECT g, n.id FROM new_rows n CROSS JOIN LATERAL name_bigrams(n.name) AS g
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM contact_name_bigrams b
        USING old_rows o CROSS JOIN LATERAL name_bigrams(o.name) AS g
        WHERE b.record_id = o.id AND b.gram = g;
    ELSE
        DELETE FROM contact_name_bigrams b
        USING old_rows o JOIN new_rows n ON n.id = o.id AND n.name IS DISTINCT FROM o.name
            CROSS JOIN LATERAL name_bigrams(o.name) AS g
        WHERE b.record_id = o.id AND b.gram = g;
        INSERT INTO contact_name_bigrams (gram, record_id)
        SELECT g, n.id FROM new_rows n JOIN old_rows o ON o.id = n.id AND n.name IS DISTINCT FROM o.name
            CROSS JOIN LATERAL name_bigrams(n.name) AS g
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contact_name_bigrams_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contact_name_bigrams_follow();
CREATE TRIGGER contact_name_bigrams_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contact_name_bigrams_follow();
CREATE TRIGGER contact_name_bigrams_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contact_name_bigrams_follow();

CREATE TABLE lead_name_bigrams (gram TEXT NOT NULL, record_id BIGINT NOT NULL);
INSERT INTO lead_name_bigrams (gram, record_id)
SELECT g, r.id FROM leads r CROSS JOIN LATERAL name_bigrams(r.company) AS g;
ALTER TABLE lead_name_bigrams ADD PRIMARY KEY (gram, record_id);

CREATE FUNCTION lead_name_bigrams_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_name_bigrams (gram, record_id)
        SELECT g, n.id FROM new_rows n CROSS JOIN LATERAL name_bigrams(n.company) AS g
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM lead_name_bigrams b
        USING old_rows o CROSS JOIN LATERAL name_bigrams(o.company) AS g
        WHERE b.record_id = o.id AND b.gram = g;
    ELSE
        DELETE FROM lead_name_bigrams b
        USING old_rows o JOIN new_rows n ON n.id = o.id AND n.company IS DISTINCT FROM o.company
            CROSS JOIN LATERAL name_bigrams(o.company) AS g
        WHERE b.record_id = o.id AND b.gram = g;
        INSERT INTO lead_name_bigrams (gram, record_id)
        SELECT g, n.id FROM new_rows n JOIN old_rows o ON o.id = n.id AND n.company IS DISTINCT FROM o.company
            CROSS JOIN LATERAL name_bigrams(n.company) AS g
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_name_bigrams_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_name_bigrams_follow();
CREATE TRIGGER lead_name_bigrams_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_name_bigrams_follow();
CREATE TRIGGER lead_name_bigrams_delete AFTER DELETE ON leads
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_name_bigrams_follow();
