package ticket

import "github.com/redis/go-redis/v9"

// Each write is one Lua script, so that the capacity check and the writes
// it guards are one atomic step on the Redis server, whichever node sends
// them. Scripts answer a status word first; callers map it to the package's
// errors.

// revenueLua is the prelude of the scripts that touch a gig's counters
// (KEYS[1] tickets, KEYS[2] state, KEYS[3] counts). The counts hash holds
// "sold" (valid tickets) and "revenue" (paid_minor of valid paid tickets:
// money taken; comp and free tickets add 0, as record.revenue). Hashes
// written before "revenue" existed lack it: ensure_revenue computes it
// once from the tickets, before the script changes anything, so the
// script's own delta then applies to a correct value.
const revenueLua = `
local function revenue_of(rec)
  local ok, r = pcall(cjson.decode, rec or '')
  if ok and type(r) == 'table' and r.kind == 'paid' and type(r.paid_minor) == 'number' then
    return r.paid_minor
  end
  return 0
end
local function ensure_revenue()
  if redis.call('HEXISTS', KEYS[3], 'revenue') == 1 then return end
  local sum = 0
  local recs = redis.call('HGETALL', KEYS[1])
  if #recs > 0 then
    local st = {}
    local states = redis.call('HGETALL', KEYS[2])
    for i = 1, #states, 2 do st[states[i]] = states[i + 1] end
    for i = 1, #recs, 2 do
      if st[recs[i]] == 'valid' then sum = sum + revenue_of(recs[i + 1]) end
    end
  end
  redis.call('HSET', KEYS[3], 'revenue', string.format('%d', sum))
end
`

// issueScript: KEYS tickets, state, counts, token key; ARGV capacity, id,
// record JSON, token ref, revenue delta.
const issueScript = revenueLua + `
local cap = tonumber(ARGV[1])
if cap > 0 and tonumber(redis.call('HGET', KEYS[3], 'sold') or '0') >= cap then
  return {'sold_out'}
end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return {'exists'} end
if not redis.call('SET', KEYS[4], ARGV[4], 'NX') then return {'exists'} end
ensure_revenue()
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], 'valid')
redis.call('HINCRBY', KEYS[3], 'sold', 1)
redis.call('HINCRBY', KEYS[3], 'revenue', ARGV[5])
return {'ok'}`

// reserveScript: KEYS bookings, token key; ARGV id, booking JSON, token ref.
const reserveScript = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'exists'} end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX') then return {'exists'} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {'ok'}`

// confirmScript: KEYS tickets, state, counts, bookings; ARGV capacity, id,
// record JSON ("" when the caller found no booking: then only an existing
// ticket can be returned), revenue delta, refunded state. With no seat
// left the booking becomes a refunded ticket (counters untouched): the
// caller refunds, and a later delivery finds that ticket ('exists').
const confirmScript = revenueLua + `
local rec = redis.call('HGET', KEYS[1], ARGV[2])
if rec then return {'exists', rec, redis.call('HGET', KEYS[2], ARGV[2]) or ''} end
if ARGV[3] == '' or redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then return {'not_found'} end
redis.call('HDEL', KEYS[4], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local cap = tonumber(ARGV[1])
if cap > 0 and tonumber(redis.call('HGET', KEYS[3], 'sold') or '0') >= cap then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[5])
  return {'sold_out'}
end
ensure_revenue()
redis.call('HSET', KEYS[2], ARGV[2], 'valid')
redis.call('HINCRBY', KEYS[3], 'sold', 1)
redis.call('HINCRBY', KEYS[3], 'revenue', ARGV[4])
return {'ok'}`

// authScript: KEYS token key, tickets, state, bookings; ARGV gig id. One
// round trip answers any token.
const authScript = `
local ref = redis.call('GET', KEYS[1])
if not ref then return {'invalid'} end
local sp = string.find(ref, ' ', 1, true)
if not sp or string.sub(ref, 1, sp - 1) ~= ARGV[1] then return {'invalid'} end
local id = string.sub(ref, sp + 1)
local rec = redis.call('HGET', KEYS[2], id)
if rec then return {'ticket', rec, redis.call('HGET', KEYS[3], id) or ''} end
if redis.call('HEXISTS', KEYS[4], id) == 1 then return {'pending'} end
return {'invalid'}`

// endScript: KEYS tickets, state, counts; ARGV id, new state.
const endScript = revenueLua + `
local st = redis.call('HGET', KEYS[2], ARGV[1])
if not st then return {'not_found'} end
if st ~= 'valid' then return {'conflict'} end
ensure_revenue()
local rec = redis.call('HGET', KEYS[1], ARGV[1]) or ''
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[3], 'sold', -1)
redis.call('HINCRBY', KEYS[3], 'revenue', string.format('%d', -revenue_of(rec)))
return {'ok', rec}`

// countsScript: KEYS tickets, state, counts. Two fields once the revenue
// counter exists (the migration runs at most once per gig); a gig without
// tickets gets no key.
const countsScript = revenueLua + `
if redis.call('HEXISTS', KEYS[3], 'revenue') == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  ensure_revenue()
end
local v = redis.call('HMGET', KEYS[3], 'sold', 'revenue')
return {v[1] or '0', v[2] or '0'}`

// deleteScript: KEYS tickets, state, counts, bookings, screens; ARGV token
// key prefix. Token keys are found through the records' token_hash, so they
// are built inside the script: fine on one Redis node (the engine's scope),
// not on Redis Cluster.
const deleteScript = `
for _, h in ipairs({KEYS[1], KEYS[4]}) do
  for _, v in ipairs(redis.call('HVALS', h)) do
    local ok, r = pcall(cjson.decode, v)
    if ok and type(r) == 'table' and type(r.token_hash) == 'string' then
      redis.call('DEL', ARGV[1] .. r.token_hash)
    end
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'ok'}`

// scripts are kept per store (no package state).
type scripts struct {
	issue, reserve, confirm, auth, end, counts, del *redis.Script
}

func newScripts() scripts {
	return scripts{
		issue:   redis.NewScript(issueScript),
		reserve: redis.NewScript(reserveScript),
		confirm: redis.NewScript(confirmScript),
		auth:    redis.NewScript(authScript),
		end:     redis.NewScript(endScript),
		counts:  redis.NewScript(countsScript),
		del:     redis.NewScript(deleteScript),
	}
}
