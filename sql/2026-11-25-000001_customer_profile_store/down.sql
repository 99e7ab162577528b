DROP TABLE audit_records;
DROP TABLE ota_sessions;
DROP TABLE profiles;
DROP TABLE prl_library;
