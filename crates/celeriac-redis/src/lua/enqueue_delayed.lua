-- Holds messages with a future ETA in the delayed set (the `eta=broker`
-- setting); built here so a payload need not be valid UTF-8.
-- KEYS: delayed, delayed_msgs, delayed_count
-- ARGV: (tag, due ms, list key, queue, payload) per message
for i = 1, #ARGV, 5 do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[i + 1]), ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], cjson.encode({ARGV[i + 4], ARGV[i + 2], ARGV[i + 3]}))
  redis.call('HINCRBY', KEYS[3], ARGV[i + 3], 1)
end
return #ARGV / 5
