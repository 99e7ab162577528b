ALTER TABLE profiles DROP COLUMN spasm_key;
