-- The name-bigram triggers of migration 0021 at less cost; they were a third of a lead import's
-- time and still the larger part of its writes (docs/benchmarks.md).
-- * A name of ASCII characters only keeps no bigram (0021 keeps only bigrams with a character
--   beyond ASCII), so such a name skips the trigger's body: its byte length equals its length.
-- * SQLite's lower() changes ASCII letters only and keeps every character's place, so a bigram
--   of the lower-cased name is the lower-cased bigram of the name: two characters lower-cased
--   per position instead of the whole name, twice. The bigrams kept are exactly those of 0021.

DROP TRIGGER customer_name_bigrams_insert;
DROP TRIGGER customer_name_bigrams_rename;
DROP TRIGGER customer_name_bigrams_delete;
CREATE TRIGGER customer_name_bigrams_insert AFTER INSERT ON customers
WHEN length(CAST(NEW.name AS BLOB)) > length(NEW.name) BEGIN
    INSERT OR IGNORE INTO customer_name_bigrams (gram, record_id)
    SELECT lower(substr(NEW.name, n, 2)), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.name) AND length(CAST(substr(NEW.name, n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER customer_name_bigrams_rename AFTER UPDATE OF name ON customers
WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM customer_name_bigrams WHERE length(CAST(OLD.name AS BLOB)) > length(OLD.name) AND record_id = OLD.id AND gram IN (
        SELECT lower(substr(OLD.name, n, 2)) FROM name_bigram_positions
        WHERE n < length(OLD.name) AND length(CAST(substr(OLD.name, n, 2) AS BLOB)) > 2);
    INSERT OR IGNORE INTO customer_name_bigrams (gram, record_id)
    SELECT lower(substr(NEW.name, n, 2)), NEW.id FROM name_bigram_positions
    WHERE length(CAST(NEW.name AS BLOB)) > length(NEW.name)
        AND n < length(NEW.name) AND length(CAST(substr(NEW.name, n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER customer_name_bigrams_delete AFTER DELETE ON customers
WHEN length(CAST(OLD.name AS BLOB)) > length(OLD.name) BEGIN
    DELETE FROM customer_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT lower(substr(OLD.name, n, 2)) FROM name_bigram_positions
        WHERE n < length(OLD.name) AND length(CAST(substr(OLD.name, n, 2) AS BLOB)) > 2);
END;

DROP TRIGGER contact_name_bigrams_insert;
DROP TRIGGER contact_name_bigrams_rename;
DROP TRIGGER contact_name_bigrams_delete;
CREATE TRIGGER contact_name_bigrams_insert AFTER INSERT ON contacts
WHEN length(CAST(NEW.name AS BLOB)) > length(NEW.name) BEGIN
    INSERT OR IGNORE INTO contact_name_bigrams (gram, record_id)
    SELECT lower(substr(NEW.name, n, 2)), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.name) AND length(CAST(substr(NEW.name, n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER contact_name_bigrams_rename AFTER UPDATE OF name ON contacts
WHEN OLD.name IS NOT NEW.name BEGIN
    DELETE FROM contact_name_bigrams WHERE length(CAST(OLD.name AS BLOB)) > length(OLD.name) AND record_id = OLD.id AND gram IN (
        SELECT lower(substr(OLD.name, n, 2)) FROM name_bigram_positions
        WHERE n < length(OLD.name) AND length(CAST(substr(OLD.name, n, 2) AS BLOB)) > 2);
    INSERT OR IGNORE INTO contact_name_bigrams (gram, record_id)
    SELECT lower(substr(NEW.name, n, 2)), NEW.id FROM name_bigram_positions
    WHERE length(CAST(NEW.name AS BLOB)) > length(NEW.name)
        AND n < length(NEW.name) AND length(CAST(substr(NEW.name, n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER contact_name_bigrams_delete AFTER DELETE ON contacts
WHEN length(CAST(OLD.name AS BLOB)) > length(OLD.name) BEGIN
    DELETE FROM contact_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT lower(substr(OLD.name, n, 2)) FROM name_bigram_positions
        WHERE n < length(OLD.name) AND length(CAST(substr(OLD.name, n, 2) AS BLOB)) > 2);
END;

DROP TRIGGER lead_name_bigrams_insert;
DROP TRIGGER lead_name_bigrams_rename;
DROP TRIGGER lead_name_bigrams_delete;
CREATE TRIGGER lead_name_bigrams_insert AFTER INSERT ON leads
WHEN length(CAST(NEW.company AS BLOB)) > length(NEW.company) BEGIN
    INSERT OR IGNORE INTO lead_name_bigrams (gram, record_id)
    SELECT lower(substr(NEW.company, n, 2)), NEW.id FROM name_bigram_positions
    WHERE n < length(NEW.company) AND length(CAST(substr(NEW.company, n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER lead_name_bigrams_rename AFTER UPDATE OF company ON leads
WHEN OLD.company IS NOT NEW.company BEGIN
    DELETE FROM lead_name_bigrams WHERE length(CAST(OLD.company AS BLOB)) > length(OLD.company) AND record_id = OLD.id AND gram IN (
        SELECT lower(substr(OLD.company, n, 2)) FROM name_bigram_positions
        WHERE n < length(OLD.company) AND length(CAST(substr(OLD.company, n, 2) AS BLOB)) > 2);
    INSERT OR IGNORE INTO lead_name_bigrams (gram, record_id)
    SELECT lower(substr(NEW.company, n, 2)), NEW.id FROM name_bigram_positions
    WHERE length(CAST(NEW.company AS BLOB)) > length(NEW.company)
        AND n < length(NEW.company) AND length(CAST(substr(NEW.company, n, 2) AS BLOB)) > 2;
END;
CREATE TRIGGER lead_name_bigrams_delete AFTER DELETE ON leads
WHEN length(CAST(OLD.company AS BLOB)) > length(OLD.company) BEGIN
    DELETE FROM lead_name_bigrams WHERE record_id = OLD.id AND gram IN (
        SELECT lower(substr(OLD.company, n, 2)) FROM name_bigram_positions
        WHERE n < length(OLD.company) AND length(CAST(substr(OLD.company, n, 2) AS BLOB)) > 2);
END;
