-- filefield's ledger tables (@filefield/core ledgerSchema('sqlite')); idempotent.
CREATE TABLE IF NOT EXISTS filefield_files (
  file_key TEXT NOT NULL PRIMARY KEY,
  storage_id TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  claim_expires_at INTEGER NULL,
  lease_token TEXT NULL,
  lease_until INTEGER NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  updated_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS filefield_files_claim_idx ON filefield_files (claim_expires_at);

CREATE INDEX IF NOT EXISTS filefield_files_lease_idx ON filefield_files (state, lease_until);

CREATE TABLE IF NOT EXISTS filefield_tasks (
  id TEXT NOT NULL PRIMARY KEY,
  file_key TEXT NOT NULL,
  storage_id TEXT NOT NULL,
  name TEXT NOT NULL,
  reason TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS filefield_tasks_due_idx ON filefield_tasks (storage_id, due_at);

CREATE INDEX IF NOT EXISTS filefield_tasks_key_idx ON filefield_tasks (file_key);
