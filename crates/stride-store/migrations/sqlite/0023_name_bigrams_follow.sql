-- PostgreSQL only: its name-bigram trigger functions become one, cheaper (see the PostgreSQL
-- file). SQLite's row triggers of migration 0021 stay as they are; this keeps the two schemas'
-- version numbers in step.
SELECT 1;
