-- Announces grants whose expiry passed and drops them from the indexes (the holder hash stays
-- until its retention ends, for LOCK_EXPIRED answers).
-- KEYS: name index, expiry index
-- ARGV: holder key prefix, channel, limit
-- Returns how many expiries were announced.
local now = now_ms()
local names = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'LIMIT', 0, tonumber(ARGV[3]))
local announced = 0
for _, name in ipairs(names) do
  local key = ARGV[1] .. name
  local grant = read_holder(key)
  if grant and grant.expires_at > now then
    redis.call('ZADD', KEYS[2], int(grant.expires_at), name)
  else
    redis.call('ZREM', KEYS[2], name)
    redis.call('ZREM', KEYS[1], name)
    if grant and not grant.reported then
      redis.call('HSET', key, 'reported', '1')
      publish(ARGV[2], 'EXPIRED', name, grant, grant.expires_at)
      announced = announced + 1
    end
  end
end
return announced
