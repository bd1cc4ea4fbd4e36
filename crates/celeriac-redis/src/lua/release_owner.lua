-- Returns every message delivered to consumer ARGV[1] to the head of its
-- list (its worker died or left), each counted as delivered once more;
-- forgets the consumer.
-- Messages still in its staging lists (a fetch cut short) go back first:
-- they were taken after the ones it held.
-- KEYS: unacked, unacked_index, leases, workers, heartbeat key, staging
--       registry, deliveries
-- ARGV: owner, key prefix, separator, priority steps
local owner = ARGV[1]
local count = unstage(KEYS[6])
local all = redis.call('HGETALL', KEYS[3])
local held = {}
for i = 1, #all, 2 do
  local o, n = lease_parts(all[i + 1])
  if o == owner then held[#held + 1] = {n, all[i]} end
end
-- Latest delivered first, so the earliest ends at the head of its list.
table.sort(held, function(a, b) return a[1] > b[1] end)
for _, h in ipairs(held) do
  local f = h[2]
  local entry = redis.call('HGET', KEYS[1], f)
  if entry then
    local env, queue = unacked_parts(entry)
    redis.call('RPUSH', list_key(ARGV[2], ARGV[3], ARGV[4], queue, env), env)
    redis.call('HDEL', KEYS[1], f)
    local tag = kombu_tag(f)
    if tag then redis.call('HINCRBY', KEYS[7], tag, 1) end
    count = count + 1
  end
  redis.call('ZREM', KEYS[2], f)
  redis.call('HDEL', KEYS[3], f)
end
redis.call('HDEL', KEYS[4], owner)
redis.call('DEL', KEYS[5])
return count
