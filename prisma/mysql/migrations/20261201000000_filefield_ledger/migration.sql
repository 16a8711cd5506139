-- filefield's ledger tables (@filefield/core ledgerSchema('mysql')); idempotent.
CREATE TABLE IF NOT EXISTS filefield_files (
  file_key CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  state VARCHAR(16) NOT NULL,
  claim_expires_at BIGINT NULL,
  lease_token VARCHAR(64) NULL,
  lease_until BIGINT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error VARCHAR(1000) NULL,
  updated_at BIGINT NOT NULL,
  INDEX filefield_files_claim_idx (claim_expires_at),
  INDEX filefield_files_lease_idx (state, lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS filefield_tasks (
  id VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  file_key CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  reason VARCHAR(16) NOT NULL,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  INDEX filefield_tasks_due_idx (storage_id, due_at),
  INDEX filefield_tasks_key_idx (file_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
