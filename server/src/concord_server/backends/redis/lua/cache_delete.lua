-- Deletes cache entries atomically, optionally only if the first one's ETag matches.
-- KEYS[1] expiry index; KEYS[2..] entry keys.
-- ARGV[1] event channel, ARGV[2] if_match ("" = none); ARGV[1 + i] the event of KEYS[i].
-- Returns {deleted count, ""} or {-1, current etag or ""} when the ETag did not match.
if ARGV[2] ~= '' then
  local current = redis.call('HGET', KEYS[2], 'etag')
  if current ~= ARGV[2] then
    return {-1, current or ''}
  end
end
local deleted = 0
for i = 2, #KEYS do
  if redis.call('DEL', KEYS[i]) == 1 then
    deleted = deleted + 1
    redis.call('ZREM', KEYS[1], KEYS[i])
    redis.call('PUBLISH', ARGV[1], ARGV[1 + i])
  end
end
return {deleted, ''}
