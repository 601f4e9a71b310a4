-- Writes cache entries atomically, optionally only if a condition holds on the first one.
-- KEYS[1]   expiry index (sorted set: entry key -> expiry in Redis-clock ms)
-- KEYS[2..] entry keys (hashes: v = JSON text, etag, u = updated ms, x = expires ms or "")
-- ARGV[1] event channel, ARGV[2] updated ms, ARGV[3] if_match ("" = none),
-- ARGV[4] create_only ("1" or "0"); then 4 per entry: value, etag, ttl ms ("" = none), event.
-- Returns {1} when written, {0, current etag or "", reason} when the condition failed.
local current = redis.call('HGET', KEYS[2], 'etag')
if ARGV[4] == '1' and current then
  return {0, current, 'entry already exists'}
end
if ARGV[3] ~= '' and current ~= ARGV[3] then
  return {0, current or '', 'etag does not match'}
end
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for i = 2, #KEYS do
  local base = 4 + (i - 2) * 4
  local ttl = ARGV[base + 3]
  local expires = ''
  if ttl ~= '' then
    expires = string.format('%.0f', tonumber(ARGV[2]) + tonumber(ttl))
  end
  redis.call('HSET', KEYS[i], 'v', ARGV[base + 1], 'etag', ARGV[base + 2], 'u', ARGV[2], 'x', expires)
  if ttl ~= '' then
    redis.call('PEXPIRE', KEYS[i], ttl)
    redis.call('ZADD', KEYS[1], string.format('%.0f', now_ms + tonumber(ttl)), KEYS[i])
  else
    redis.call('PERSIST', KEYS[i])
    redis.call('ZREM', KEYS[1], KEYS[i])
  end
  redis.call('PUBLISH', ARGV[1], ARGV[base + 4])
end
return {1}
