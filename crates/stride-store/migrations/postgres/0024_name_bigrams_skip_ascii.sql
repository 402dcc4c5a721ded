-- A name of ASCII characters only keeps no bigram (only bigrams with a character beyond ASCII
-- are kept), so `name_bigrams` answers nothing for it before lower-casing it or walking its
-- positions: its byte length equals its length. A third of the names an import writes are such.
CREATE OR REPLACE FUNCTION name_bigrams(t TEXT) RETURNS SETOF TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT DISTINCT g FROM (SELECT lower(t) AS l WHERE octet_length(t) > char_length(t)) AS s,
       generate_series(1, char_length(l) - 1) AS n, LATERAL substr(l, n, 2) AS g
   WHERE octet_length(g) > 2 $$;
