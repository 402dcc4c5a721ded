-- Every committed change to the directory (users and their roles, roles, departments, sessions,
-- API tokens) is announced on the channel `stride_directory`, so that every server keeping
-- directory reads in memory drops them (see the store's `directory` module). PostgreSQL
-- delivers a notification at commit, once per channel and payload per transaction.
CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stride_directory', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER users_announced AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER user_roles_announced AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER roles_announced AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER departments_announced AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON departments
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER sessions_announced AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER api_tokens_announced AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
