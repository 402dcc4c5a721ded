-- The search box (CUST-6) finds names by any substring. A LIKE '%…%' cannot use an index, so a
-- manager's search for a rare word read every customer and contact of the team; a two-character
-- Chinese word (华为) is too short for trigram indexes. Each searchable name is therefore also
-- kept as the set of its two-character pieces (bigrams), lower-cased exactly as the search
-- compares them: a name containing the words contains every bigram of the words, so the records
-- holding one of the word's bigrams are a superset of the matches, and the LIKE still decides.
-- Triggers keep them, so every writer (forms, API, import, merge, bulk loads) does too.
-- Only bigrams with a character beyond ASCII are kept: the search reads them only for words
-- holding such a character (ASCII words scan, as they may match e-mail and phone keys too), and
-- any such word of two characters or more has at least one. English names thus cost nothing.
-- Names are at most 200 characters (validated), hence 199 positions.
CREATE TABLE name_bigram_positions (n INTEGER PRIMARY KEY);
INSERT INTO name_bigram_positions (n)
WITH RECURSIVE p (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 199)
SELECT n FROM p;

CREATE TABLE customer_name_bigrams (
    gram TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (gram, record_id)
) WITHOUT ROWID;
CREATE TABLE contact_name_bigrams (
    gram TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (gram, record_id)
) WITHOUT ROWID;
CREATE TABLE lead_name_bigrams (
    gram TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (gram, record_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO customer_name_bigrams (gram, record_id)
SELECT substr(LOWER(c.name), p.n, 2), c.id FROM customers c
JOIN name_bigram_positions p ON p.n < length(c.name)
WHERE length(CAST(substr(LOWER(c.name), p.n, 2) AS BLOB)) > 2;
INSERT OR IGNORE INTO contact_name_bigrams (gram, record_id)
SELECT substr(LOWER(c.name), p.n, 2), c.id FROM contacts c
JOIN name_bigram_positions p ON p.n < length(c.name)
WHERE length(CAST(substr(LOWER(c.name), p.n, 2) AS BLOB)) > 2;
INSERT OR IGNORE INTO lead_name_bigrams (gram, record_id)
SELECT substr(LOWER(l.company), p.n, 2), l.id FROM leads l
JOIN name_bigram_positions p ON p.n < length(l.company)
WHERE length(CAST(substr(LOWER(l.company), p.n, 2) AS BLOB)) > 2;

CREATE TRIGGER customer_name_bigrams_insert AFTER INSERT ON customers BEGIN
    INSERT OR IGNORE INTO customer_name_bigrams (gram, record_id)
    SELECT substr(LOWER(NEW.name), n, 2), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.name)
        AND length(CAST(substr(LOWER(NEW.name), n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER customer_name_bigrams_rename AFTER UPDATE OF name ON customers
WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM customer_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT substr(LOWER(OLD.name), n, 2) FROM name_bigram_positions WHERE n < length(OLD.name)
        AND length(CAST(substr(LOWER(OLD.name), n, 2) AS BLOB)) > 2);
    INSERT OR IGNORE INTO customer_name_bigrams (gram, record_id)
    SELECT substr(LOWER(NEW.name), n, 2), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.name)
        AND length(CAST(substr(LOWER(NEW.name), n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER customer_name_bigrams_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customer_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT substr(LOWER(OLD.name), n, 2) FROM name_bigram_positions WHERE n < length(OLD.name)
        AND length(CAST(substr(LOWER(OLD.name), n, 2) AS BLOB)) > 2);
END;

CREATE TRIGGER contact_name_bigrams_insert AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO contact_name_bigrams (gram, record_id)
    SELECT substr(LOWER(NEW.name), n, 2), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.name)
        AND length(CAST(substr(LOWER(NEW.name), n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER contact_name_bigrams_rename AFTER UPDATE OF name ON contacts
WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM contact_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT substr(LOWER(OLD.name), n, 2) FROM name_bigram_positions WHERE n < length(OLD.name)
        AND length(CAST(substr(LOWER(OLD.name), n, 2) AS BLOB)) > 2);
    INSERT OR IGNORE INTO contact_name_bigrams (gram, record_id)
    SELECT substr(LOWER(NEW.name), n, 2), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.name)
        AND length(CAST(substr(LOWER(NEW.name), n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER contact_name_bigrams_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contact_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT substr(LOWER(OLD.name), n, 2) FROM name_bigram_positions WHERE n < length(OLD.name)
        AND length(CAST(substr(LOWER(OLD.name), n, 2) AS BLOB)) > 2);
END;

CREATE TRIGGER lead_name_bigrams_insert AFTER INSERT ON leads BEGIN
    INSERT OR IGNORE INTO lead_name_bigrams (gram, record_id)
    SELECT substr(LOWER(NEW.company), n, 2), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.company)
        AND length(CAST(substr(LOWER(NEW.company), n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER lead_name_bigrams_rename AFTER UPDATE OF company ON leads
WHEN OLD.company IS NOT NEW.company BEGIN
    DELETE FROM lead_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT substr(LOWER(OLD.company), n, 2) FROM name_bigram_positions WHERE n < length(OLD.company)
        AND length(CAST(substr(LOWER(OLD.company), n, 2) AS BLOB)) > 2);
    INSERT OR IGNORE INTO lead_name_bigrams (gram, record_id)
    SELECT substr(LOWER(NEW.company), n, 2), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.company)
        AND length(CAST(substr(LOWER(NEW.company), n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER lead_name_bigrams_delete AFTER DELETE ON leads BEGIN
    DELETE FROM lead_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT substr(LOWER(OLD.company), n, 2) FROM name_bigram_positions WHERE n < length(OLD.company)
        AND length(CAST(substr(LOWER(OLD.company), n, 2) AS BLOB)) > 2);
END;
