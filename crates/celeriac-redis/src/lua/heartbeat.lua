-- Renews a worker: its heartbeat key (expiring after the lease), its entry
-- in the registry, and the `unacked_index` times of what it holds, so that a
-- Celery worker's visibility-timeout sweep never restores live work.
-- KEYS: heartbeat key, workers, leases, unacked_index
-- ARGV: worker id, lease (ms), registry record (JSON), now (s, float)
redis.call('SET', KEYS[1], ARGV[4], 'PX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local o = lease_parts(all[i + 1])
  if o == ARGV[1] then redis.call('ZADD', KEYS[4], 'XX', ARGV[4], all[i]) end
end
return 1
