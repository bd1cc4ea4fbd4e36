-- Helpers shared by Celeriac's scripts (prepended to each one).

-- The first "name": "value" string in an envelope's JSON text. Task
-- bodies are base64 (or escaped) inside the envelope, so their contents
-- cannot match; this reads kombu's fields without decoding ~1 KB of JSON.
-- A plain find (memchr) locates the name and an anchored match reads the
-- value: a pattern tried at every position costs ~10 us per envelope.
local function field(env, name)
  local needle = '"' .. name .. '"'
  local from = 1
  while true do
    local _, e = string.find(env, needle, from, true)
    if not e then return nil end
    local value = string.match(env, '^%s*:%s*"([^"]*)"', e + 1)
    if value then return value end
    from = e + 1
  end
end

-- An `unacked` entry as kombu writes it: `[envelope, exchange, routing
-- key]` with the envelope as a JSON object, so that a Celery worker's
-- visibility-timeout restore can read Celeriac's entries too. Bytes that
-- are not a JSON object (garbage pushed on a queue) go in as a JSON string.
local function unacked_entry(env, queue)
  local last = #env
  while last > 0 and string.find(' \t\r\n', string.sub(env, last, last), 1, true) do last = last - 1 end
  if string.byte(env, 1) == 123 and string.byte(env, last) == 125 then -- '{' … '}'
    return '[' .. env .. ', "", ' .. cjson.encode(queue) .. ']'
  end
  return cjson.encode({env, '', queue})
end

-- The envelope (its bytes unchanged) and the queue of an `unacked` entry.
local function unacked_parts(entry)
  if string.sub(entry, 1, 2) == '["' then
    local held = cjson.decode(entry)
    return held[1], held[3]
  end
  -- `[<envelope>, "<exchange>", "<routing key>"]`, from Celeriac or kombu.
  local env, queue = string.match(entry, '^%[(.*), ".-", (".*)%]%s*$')
  if not env then error('an unacked entry Celeriac cannot read: ' .. string.sub(entry, 1, 80)) end
  return env, cjson.decode(queue)
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- ISO-8601 (as Celery writes `eta`) to milliseconds since the epoch; a naive
-- time is UTC, as Celery reads it. nil when the text is not a timestamp.
local function iso_ms(s)
  if not s then return nil end
  local y, mo, d, h, mi, sec, rest =
    string.match(s, '^(%d%d%d%d)-(%d%d)-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$')
  if not y then return nil end
  local frac = 0
  local f = string.match(rest, '^%.(%d+)')
  if f then
    frac = tonumber('0.' .. f)
    rest = string.sub(rest, #f + 2)
  end
  local offset = 0
  if rest ~= '' and rest ~= 'Z' then
    local sign, oh, om = string.match(rest, '^([+-])(%d%d):?(%d%d)$')
    if not sign then return nil end
    offset = (tonumber(oh) * 60 + tonumber(om)) * 60
    if sign == '-' then offset = -offset end
  end
  local days = days_from_civil(tonumber(y), tonumber(mo), tonumber(d))
  local secs = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) - offset
  return math.floor((secs + frac) * 1000)
end

-- A lease record is "owner deliveries serial" ("-" as owner: not leased).
local function lease_parts(v)
  if not v then return nil, 0, 0 end
  local o, d, s = string.match(v, '^(%S+) (%d+) (%d+)$')
  if not o then return nil, 0, 0 end
  return o, tonumber(d), tonumber(s)
end

-- The list a message of `queue` goes back to, from its priority (ARGV of
-- the caller supplies the key prefix, separator and priority steps).
local function list_key(prefix, sep, steps, queue, env)
  local p = tonumber(string.match(env, '"priority"%s*:%s*(%d+)') or '0')
  if p > 9 then p = 9 end
  local step = 0
  for s in string.gmatch(steps, '%d+') do
    local n = tonumber(s)
    if n <= p and n > step then step = n end
  end
  if step == 0 then return prefix .. queue end
  return prefix .. queue .. sep .. step
end

-- Checks that `tag`'s current lease has `serial`; returns the record parts.
local function current_lease(leases, tag, serial)
  local owner, d, s = lease_parts(redis.call('HGET', leases, tag))
  if owner == nil or owner == '-' or s ~= tonumber(serial) then return nil end
  return owner, d, s
end
