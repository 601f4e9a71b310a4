-- Grants a lock that is free, expired or held by the same owner, with the next fencing token.
-- KEYS: holder hash, the name's own counter of earlier versions, name index, expiry index, the
-- store's token counter
-- ARGV: name, owner, ttl ms, retention ms, channel
-- Returns {0, holder expires_at} on conflict, {1, token, acquired_at, expires_at, ttl} on grant.
local name, owner, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local current = read_holder(KEYS[1])
if current then
  if current.expires_at > now and current.owner ~= owner then
    return {0, current.expires_at}
  end
  if current.expires_at <= now and not current.reported then
    publish(ARGV[5], 'EXPIRED', name, current, current.expires_at)
  end
end
local grant = {
  owner = owner,
  token = next_token(KEYS[5], KEYS[2]),
  acquired_at = now,
  expires_at = now + ttl,
  ttl = ttl,
}
redis.call('HSET', KEYS[1], 'owner', owner, 'token', int(grant.token), 'acquired_at', int(now),
  'expires_at', int(grant.expires_at), 'ttl', int(ttl), 'reported', '0')
redis.call('PEXPIRE', KEYS[1], int(ttl + tonumber(ARGV[4])))
redis.call('ZADD', KEYS[3], 0, name)
redis.call('ZADD', KEYS[4], int(grant.expires_at), name)
publish(ARGV[5], 'ACQUIRED', name, grant, now)
return {1, grant.token, now, grant.expires_at, ttl}
