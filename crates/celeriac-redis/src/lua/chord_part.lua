-- Celery 5.7's chord join on Redis (PROTOCOL.md §7.3): records a header
-- task's outcome once (deduplicated by task id and header index), and when
-- every header task has reported takes the dispatch claim, so that one
-- worker, Python or Celeriac, sends the callback.
-- KEYS: .j (zset of outcomes), .t (size adjustment), .s (size), .d (dedup
--       set), the group's taskset key, .c (claim)
-- ARGV: task id, encoded outcome, header index, chord expiry (s, 0 = none),
--       taskset expiry (s), claim expiry (s), claim token
-- Returns {ready count or -1 when already done, claimed (0/1), outcomes...}
if redis.call('GET', KEYS[6]) == 'done' then return {-1, 0} end
local member = ARGV[1] .. ':' .. ARGV[3]
if redis.call('SISMEMBER', KEYS[4], member) == 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('SADD', KEYS[4], member)
end
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local expires = tonumber(ARGV[4])
if expires > 0 then
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], expires) end
  if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[5], tonumber(ARGV[5])) end
end
local size = redis.call('GET', KEYS[3])
local adjust = tonumber(redis.call('GET', KEYS[2]) or '0')
if size and ready == tonumber(size) + adjust then
  if redis.call('SET', KEYS[6], ARGV[7], 'NX', 'EX', tonumber(ARGV[6])) then
    local out = {ready, 1}
    for _, v in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do out[#out + 1] = v end
    return out
  end
end
return {ready, 0}
