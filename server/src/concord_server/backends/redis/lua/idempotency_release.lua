-- Deletes an idempotency key only while it still holds the caller's in-progress marker.
-- KEYS[1] = the key; ARGV[1] = the exact marker value. Returns 1 when deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
