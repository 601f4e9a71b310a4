-- Ends the holder's grant; the token counter stays.
-- KEYS: holder hash, name index, expiry index
-- ARGV: name, owner, token, channel
-- Returns {0} not held, {-1, expired_at} expired, {1, token, acquired_at, expires_at, ttl}.
local now = now_ms()
local grant = read_holder(KEYS[1])
local refused = refusal(grant, ARGV[2], ARGV[3], now)
if refused then
  return refused
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
publish(ARGV[4], 'RELEASED', ARGV[1], grant, now)
return {1, grant.token, grant.acquired_at, grant.expires_at, grant.ttl}
