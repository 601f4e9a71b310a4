-- Helpers prepended to every lock script. Times are milliseconds of the Redis server clock, so
-- every Concord instance agrees on expiry whatever its own clock says.
-- A holder hash has the fields owner, token, acquired_at, expires_at, ttl and reported (1 once
-- its expiry was announced); it outlives its expiry by a retention period so that a late renew or
-- release can be told LOCK_EXPIRED. Fencing tokens come from one counter per store, which never
-- expires: it increases for every name, so it increases per name, and no key is left behind per
-- name once a grant is gone.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(n)
  return string.format('%d', n)
end

local function read_holder(key)
  local h = redis.call('HMGET', key, 'owner', 'token', 'acquired_at', 'expires_at', 'ttl', 'reported')
  if not h[1] then
    return nil
  end
  return {
    owner = h[1],
    token = tonumber(h[2]),
    acquired_at = tonumber(h[3]),
    expires_at = tonumber(h[4]),
    ttl = tonumber(h[5]),
    reported = h[6] == '1',
  }
end

-- Announces a change on the store's channel: kind, numbers, then name and owner (owner last, as
-- it may contain any character).
local function publish(channel, kind, name, grant, at)
  redis.call('PUBLISH', channel, table.concat({
    kind, int(grant.token), int(grant.acquired_at), int(grant.expires_at), int(grant.ttl),
    int(at), name, grant.owner,
  }, '\t'))
end

-- Why the caller (owner, token) may not change the grant: 0 not held, -1 expired; nil if it may.
local function refusal(grant, owner, token, now)
  if not grant or grant.owner ~= owner or grant.token ~= tonumber(token) then
    return {0}
  end
  if grant.expires_at <= now then
    return {-1, grant.expires_at}
  end
  return nil
end

-- The next fencing token from the store's counter. Earlier versions kept one counter per name:
-- the first grant of such a name moves the store's counter past it and deletes it, so the
-- name's tokens keep increasing across the upgrade.
local function next_token(counter, legacy_counter)
  local token = redis.call('INCR', counter)
  local legacy = tonumber(redis.call('GET', legacy_counter))
  if legacy then
    if legacy >= token then
      token = legacy + 1
      redis.call('SET', counter, int(token))
    end
    redis.call('DEL', legacy_counter)
  end
  return token
end
