-- Puts due delayed messages at the head of their lists.
-- KEYS: delayed, delayed_msgs, delayed_count
-- ARGV: now (ms), most to move
-- Returns {moved, next due (ms) or -1, queues that received messages...}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local queues, seen = {}, {}
for _, tag in ipairs(due) do
  local entry = redis.call('HGET', KEYS[2], tag)
  if entry then
    local held = cjson.decode(entry)
    redis.call('RPUSH', held[2], held[1])
    redis.call('HINCRBY', KEYS[3], held[3], -1)
    redis.call('HDEL', KEYS[2], tag)
    if not seen[held[3]] then
      seen[held[3]] = true
      queues[#queues + 1] = held[3]
    end
  end
  redis.call('ZREM', KEYS[1], tag)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local out = {#due, -1}
if nxt[2] then out[2] = tonumber(nxt[2]) end
for _, q in ipairs(queues) do out[#out + 1] = q end
return out
