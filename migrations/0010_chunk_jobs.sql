-- The job that produced each chunk (re-embedding writes it into the vectors' payload).
ALTER TABLE chunks ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
