-- Token bucket, atomic per key, timed by the Redis server's clock so every instance agrees.
-- KEYS[1] = bucket hash {tokens, at}
-- ARGV[1] = rate (tokens per second), ARGV[2] = burst (capacity), ARGV[3] = cost
-- Returns {allowed (1/0), retry_after_seconds (string), remaining tokens (string)}.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000

local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1])
local at = tonumber(held[2])
if tokens == nil or at == nil then
  tokens = burst
else
  local elapsed = now - at
  if elapsed < 0 then
    elapsed = 0
  end
  tokens = math.min(burst, tokens + elapsed * rate)
end

local allowed = 0
local retry_after = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_after = (cost - tokens) / rate
end

redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
-- A bucket idle long enough to refill is the same as no bucket: let Redis forget it.
local full_ms = math.ceil((burst - tokens) / rate * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], full_ms)

return {allowed, string.format('%.17g', retry_after), string.format('%.17g', tokens)}
