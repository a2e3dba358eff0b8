-- The query terms' postings at one snapshot version. KEYS: index meta. ARGV: base, version, the
-- generation whose id buckets the caller holds ('' for none), how many id buckets it holds (h), the seq
-- tag of each of them, then the terms.
-- Returns 'absent'; 'busy' (an update or build runs); 'stale' (the stamp is another version); 'broken' (a key
-- was lost: a count disagrees, and the index is deleted); or
-- ['ok', n, total, gen, bs, id bucket count, {b, flat HGETALL of id bucket b, ...} for each id bucket whose
-- tag is not the caller's, then per term the flat HGETALL of its postings hash ({} for a term no chunk
-- holds)]. The caller checks each term's postings against its `d` (a postings hash lost and not edited
-- since shows as missing here).
--@include keyword-prelude
local m = redis.call('HMGET', KEYS[1], 'stamp', 'gen', 'n', 'total', 'terms', 'next', 'bs', 'dk', 'dg')
if not m[1] then return 'absent' end
if ssub(m[1], 1, 8) == 'pending:' or ssub(m[1], 1, 9) == 'building:' then return 'busy' end
if m[1] ~= ARGV[2] then return 'stale' end
local gen = m[2]
local bs = tonumber(m[7])
local handed = tonumber(m[6])
if not read_counts_hold(gen, tonumber(m[3]), tonumber(m[5]), handed, bs, tonumber(m[8]), tonumber(m[9])) then
  drop_index(KEYS[1])
  return 'broken'
end
local held = ARGV[3] == gen and tonumber(ARGV[4]) or 0
local first_term = 5 + tonumber(ARGV[4])
local nb = id_buckets(handed, bs)
local changed = {}
for b = 0, nb - 1 do
  local key = gkey(gen, 'ids:' .. b)
  if b >= held or redis.call('HGET', key, '#') ~= ARGV[5 + b] then
    changed[#changed + 1] = b
    changed[#changed + 1] = redis.call('HGETALL', key)
  end
end
local out = { 'ok', m[3], m[4], gen, m[7], nb, changed }
local terms_key = gkey(gen, 'terms')
for i = first_term, #ARGV do
  local id = redis.call('HGET', terms_key, ARGV[i])
  if id then
    local postings = redis.call('HGETALL', gkey(gen, 'p:' .. id))
    if #postings == 0 then
      drop_index(KEYS[1])
      return 'broken'
    end
    out[#out + 1] = postings
  else
    out[#out + 1] = {}
  end
end
return out
