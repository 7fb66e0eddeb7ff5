// The Lua that folds a batch of outcomes into provider health. Redis runs a script atomically, so concurrent
// batches from many workers serialise here instead of racing in TypeScript (Upstash REST has no WATCH).
//
// KEYS: one health hash per provider in the batch.
// ARGV: nowMs, alpha, openAfterConsecutiveFailures, openAboveErrorRate, minSamplesForErrorRate, coolDownMs, keyTtlMs,
//       bucketCount, the bucket bounds (ascending), reporter ('' when unknown), then 4 per outcome: key index
//       (1-based), ok (1|0), errorClass ('' when ok), ttfbMs ('' when absent).
// A closed circuit opens only on evidence from two reporters (sessions) or more when the reporter is known: the
// current run of failures remembers who started it (`runReporter`) and whether anyone else joined it (`runMixed`), so
// one worker, however broken or hostile, cannot open a provider's circuit for everybody.
// Hash fields: see HEALTH_FIELDS in scores.ts. `circuit` stores only closed|open; half-open is derived from
// circuitOpenedAtMs. Histogram buckets are stored per bucket (not cumulative) as `lat:le:<bound>` and `lat:le:inf`.
export const RECORD_OUTCOMES_LUA = `
local now = tonumber(ARGV[1])
local alpha = tonumber(ARGV[2])
local openAfter = tonumber(ARGV[3])
local openAboveRate = tonumber(ARGV[4])
local minSamples = tonumber(ARGV[5])
local coolDown = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
local bucketCount = tonumber(ARGV[8])
local bounds = {}
for i = 1, bucketCount do bounds[i] = tonumber(ARGV[8 + i]) end
local reporter = ARGV[9 + bucketCount]
local first = 10 + bucketCount

-- %.17g round-trips a double; Lua's default tostring keeps only 14 digits.
local function fmt(x) return string.format('%.17g', x) end
local function ewma(old, sample) if old == nil then return sample end return alpha * sample + (1 - alpha) * old end

local states = {}
local function load(k)
  local s = states[k]
  if s then return s end
  local v = redis.call('HMGET', KEYS[k], 'latencyEwmaMs', 'errorRate', 'consecutiveFailures', 'circuit',
    'circuitOpenedAtMs', 'breakerSamples', 'updatedAtMs', 'runReporter', 'runMixed', 'latencyDevMs')
  s = {
    latency = tonumber(v[1]), rate = tonumber(v[2]), consecutive = tonumber(v[3]) or 0,
    circuit = v[4] or 'closed', openedAt = tonumber(v[5]), breakerSamples = tonumber(v[6]) or 0,
    updatedAt = tonumber(v[7]), runReporter = v[8] or '', runMixed = v[9] == '1', deviation = tonumber(v[10]),
    successes = 0, failures = 0, latCount = 0, latSum = 0, buckets = {}, lastErrorClass = nil,
  }
  states[k] = s
  return s
end

local function open(s) s.circuit = 'open'; s.openedAt = now end

local applied = 0
for i = first, #ARGV, 4 do
  local s = load(tonumber(ARGV[i]))
  local ok = ARGV[i + 1] == '1'
  local halfOpen = s.circuit == 'open' and s.openedAt ~= nil and now - s.openedAt >= coolDown
  s.breakerSamples = s.breakerSamples + 1
  if ok then
    s.successes = s.successes + 1
    s.consecutive = 0
    s.runReporter = ''; s.runMixed = false
    s.rate = ewma(s.rate, 0)
    local ttfb = tonumber(ARGV[i + 3])
    if ttfb ~= nil then
      -- The spread is measured against the average before this sample (as TCP's RTTVAR is), from the second one on.
      if s.latency ~= nil then s.deviation = ewma(s.deviation, math.abs(ttfb - s.latency)) end
      s.latency = ewma(s.latency, ttfb)
      s.latCount = s.latCount + 1
      s.latSum = s.latSum + ttfb
      local field = 'lat:le:inf'
      for b = 1, bucketCount do
        if ttfb <= bounds[b] then field = 'lat:le:' .. ARGV[8 + b]; break end
      end
      s.buckets[field] = (s.buckets[field] or 0) + 1
    end
    if halfOpen then
      s.circuit = 'closed'; s.openedAt = nil; s.breakerSamples = 0
    end
  else
    s.failures = s.failures + 1
    if s.consecutive == 0 then s.runReporter = reporter; s.runMixed = false
    elseif reporter ~= s.runReporter then s.runMixed = true end
    s.consecutive = s.consecutive + 1
    s.rate = ewma(s.rate, 1)
    s.lastErrorClass = ARGV[i + 2]
    if halfOpen then
      open(s)
    elseif s.circuit == 'closed' then
      -- breakerSamples restarts when a circuit closes, so a recovered provider needs fresh evidence to trip on rate.
      local tripped = s.consecutive >= openAfter or (s.breakerSamples >= minSamples and s.rate > openAboveRate)
      if tripped and (reporter == '' or s.runMixed) then open(s) end
    end
    -- A failure while open and still cooling down leaves openedAt alone: last-resort use must not extend the rest.
  end
  applied = applied + 1
end

for k, s in pairs(states) do
  local key = KEYS[k]
  if s.successes > 0 then redis.call('HINCRBY', key, 'successes', s.successes) end
  if s.failures > 0 then redis.call('HINCRBY', key, 'failures', s.failures) end
  if s.latCount > 0 then
    redis.call('HINCRBY', key, 'lat:count', s.latCount)
    redis.call('HINCRBYFLOAT', key, 'lat:sumMs', fmt(s.latSum))
    for field, n in pairs(s.buckets) do redis.call('HINCRBY', key, field, n) end
  end
  local updatedAt = now
  if s.updatedAt ~= nil and s.updatedAt > now then updatedAt = s.updatedAt end
  redis.call('HSET', key, 'errorRate', fmt(s.rate), 'consecutiveFailures', s.consecutive, 'circuit', s.circuit,
    'breakerSamples', s.breakerSamples, 'updatedAtMs', fmt(updatedAt), 'runReporter', s.runReporter,
    'runMixed', s.runMixed and '1' or '0')
  if s.latency ~= nil then redis.call('HSET', key, 'latencyEwmaMs', fmt(s.latency)) end
  if s.deviation ~= nil then redis.call('HSET', key, 'latencyDevMs', fmt(s.deviation)) end
  if s.lastErrorClass ~= nil then
    redis.call('HSET', key, 'lastErrorClass', s.lastErrorClass, 'lastErrorAtMs', fmt(now))
  end
  if s.openedAt ~= nil then
    redis.call('HSET', key, 'circuitOpenedAtMs', fmt(s.openedAt))
  else
    redis.call('HDEL', key, 'circuitOpenedAtMs')
  end
  redis.call('PEXPIRE', key, ttl)
end
return applied
`;
