-- The current unexpired grant of a lock.
-- KEYS: holder hash
-- Returns nil when free, else {owner, token, acquired_at, expires_at, ttl}.
local grant = read_holder(KEYS[1])
if not grant or grant.expires_at <= now_ms() then
  return false
end
return {grant.owner, grant.token, grant.acquired_at, grant.expires_at, grant.ttl}
