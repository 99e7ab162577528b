DROP TABLE operator_audit;
DROP TABLE api_keys;
DROP TABLE accounts;
