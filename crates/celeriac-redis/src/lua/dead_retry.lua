-- Puts dead letters back at the tail of their queues (ready now), or drops
-- them when ARGV[4] is "drop".
-- KEYS: dead, dead_index, dead_count, dead_payload
-- ARGV: key prefix, separator, priority steps, "retry" | "drop", ids...
local count = 0
for i = 5, #ARGV do
  local id = ARGV[i]
  local entry = redis.call('HGET', KEYS[1], id)
  if entry then
    local rec = cjson.decode(entry)
    local payload = redis.call('HGET', KEYS[4], id)
    if ARGV[4] == 'retry' and payload then
      redis.call('LPUSH', list_key(ARGV[1], ARGV[2], ARGV[3], rec.queue, payload), payload)
    end
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('HINCRBY', KEYS[3], rec.queue, -1)
    count = count + 1
  end
end
return count
