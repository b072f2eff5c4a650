-- 0013: the Idempotency-Key request hash now covers the query string too
-- (server/idempotency.c): the same key with another ?box= is another request.
COMMENT ON COLUMN idempotency_keys.request_hash IS 'SHA-256 of method, path, query and body: the same key with another request is 422.';
