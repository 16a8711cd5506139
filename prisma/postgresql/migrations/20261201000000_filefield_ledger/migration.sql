-- filefield's ledger tables (@filefield/core ledgerSchema('postgres')); idempotent.
CREATE TABLE IF NOT EXISTS filefield_files (
  file_key CHAR(64) NOT NULL PRIMARY KEY,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  state VARCHAR(16) NOT NULL,
  claim_expires_at BIGINT NULL,
  lease_token VARCHAR(64) NULL,
  lease_until BIGINT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error VARCHAR(1000) NULL,
  updated_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS filefield_files_claim_idx ON filefield_files (claim_expires_at);

CREATE INDEX IF NOT EXISTS filefield_files_lease_idx ON filefield_files (state, lease_until);

CREATE TABLE IF NOT EXISTS filefield_tasks (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  file_key CHAR(64) NOT NULL,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  reason VARCHAR(16) NOT NULL,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS filefield_tasks_due_idx ON filefield_tasks (storage_id, due_at);

CREATE INDEX IF NOT EXISTS filefield_tasks_key_idx ON filefield_tasks (file_key);
