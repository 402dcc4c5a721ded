-- Every committed change to the directory (users and their roles, roles, departments, sessions,
-- API tokens), counted, so that a server keeping directory reads in memory notices the changes
-- other processes make (see the store's `directory` module). One row, one number.
CREATE TABLE directory_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO directory_changes (id, n) VALUES (1, 0);

CREATE TRIGGER users_inserted_counted AFTER INSERT ON users BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER users_updated_counted AFTER UPDATE ON users BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER users_deleted_counted AFTER DELETE ON users BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER user_roles_inserted_counted AFTER INSERT ON user_roles BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER user_roles_updated_counted AFTER UPDATE ON user_roles BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER user_roles_deleted_counted AFTER DELETE ON user_roles BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER roles_inserted_counted AFTER INSERT ON roles BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER roles_updated_counted AFTER UPDATE ON roles BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER roles_deleted_counted AFTER DELETE ON roles BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER departments_inserted_counted AFTER INSERT ON departments BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER departments_updated_counted AFTER UPDATE ON departments BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER departments_deleted_counted AFTER DELETE ON departments BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER sessions_inserted_counted AFTER INSERT ON sessions BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER sessions_updated_counted AFTER UPDATE ON sessions BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER sessions_deleted_counted AFTER DELETE ON sessions BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER api_tokens_inserted_counted AFTER INSERT ON api_tokens BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER api_tokens_updated_counted AFTER UPDATE ON api_tokens BEGIN UPDATE directory_changes SET n = n + 1; END;
CREATE TRIGGER api_tokens_deleted_counted AFTER DELETE ON api_tokens BEGIN UPDATE directory_changes SET n = n + 1; END;
