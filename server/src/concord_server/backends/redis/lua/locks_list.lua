-- Unexpired grants in name order within a lexicographic range of the name index.
-- KEYS: name index
-- ARGV: holder key prefix, ZRANGEBYLEX min, ZRANGEBYLEX max, limit
-- Returns name, owner, token, acquired_at, expires_at, ttl for each grant, flattened.
local now = now_ms()
local limit = tonumber(ARGV[4])
local batch = math.max(limit, 100)
local out, found, min = {}, 0, ARGV[2]
while found < limit do
  local names = redis.call('ZRANGEBYLEX', KEYS[1], min, ARGV[3], 'LIMIT', 0, batch)
  for _, name in ipairs(names) do
    local grant = read_holder(ARGV[1] .. name)
    if grant and grant.expires_at > now then
      for _, v in ipairs({name, grant.owner, grant.token, grant.acquired_at, grant.expires_at,
          grant.ttl}) do
        out[#out + 1] = v
      end
      found = found + 1
      if found == limit then
        break
      end
    end
  end
  if #names < batch then
    break
  end
  min = '(' .. names[#names]
end
return out
