-- Extends the holder's grant to ttl from now; the token is unchanged.
-- KEYS: holder hash, expiry index
-- ARGV: name, owner, token, ttl ms, retention ms
-- Returns {0} not held, {-1, expired_at} expired, {1, token, acquired_at, expires_at, ttl}.
local now = now_ms()
local grant = read_holder(KEYS[1])
local refused = refusal(grant, ARGV[2], ARGV[3], now)
if refused then
  return refused
end
local ttl = tonumber(ARGV[4])
local expires_at = now + ttl
redis.call('HSET', KEYS[1], 'expires_at', int(expires_at), 'ttl', int(ttl))
redis.call('PEXPIRE', KEYS[1], int(ttl + tonumber(ARGV[5])))
redis.call('ZADD', KEYS[2], int(expires_at), ARGV[1])
return {1, grant.token, grant.acquired_at, expires_at, ttl}
