-- Announces entries whose TTL ran out (Redis already dropped them) and forgets them.
-- Each due member is removed by exactly one caller, so an expiry is announced once.
-- KEYS[1] expiry index. ARGV[1] batch size, ARGV[2] entry key prefix ("...:e:"),
-- ARGV[3] channel prefix ("...:events:"). Returns how many expiries were announced.
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now_ms),
  'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local announced = 0
for i = 1, #due, 2 do
  local member = due[i]
  local pttl = redis.call('PTTL', member)
  if pttl == -2 then
    redis.call('ZREM', KEYS[1], member)
    local rest = string.sub(member, #ARGV[2] + 1)
    local sep = string.find(rest, ':', 1, true)
    if sep then
      local namespace = string.sub(rest, 1, sep - 1)
      local event = cjson.encode({type = 'EXPIRED', ns = namespace,
        key = string.sub(rest, sep + 1), etag = '', at = tonumber(due[i + 1])})
      redis.call('PUBLISH', ARGV[3] .. namespace, event)
      announced = announced + 1
    end
  elseif pttl == -1 then
    redis.call('ZREM', KEYS[1], member)
  else
    redis.call('ZADD', KEYS[1], string.format('%.0f', now_ms + pttl), member)
  end
end
return announced
