-- The query terms' postings at one snapshot version. KEYS: index meta. ARGV: base, version, terms.
-- Returns 'absent'; 'busy' (an update or build runs); 'stale' (the stamp is another version); 'broken' (a key
-- was lost: a length disagrees with the counts, and the index is deleted); or
-- ['ok', n, total, postings of term 1 (flat chunk_id, "tf:length" ...), ...].
--@include keyword-prelude
local m = redis.call('HMGET', KEYS[1], 'stamp', 'gen', 'n', 'total', 'terms')
if not m[1] then return 'absent' end
if string.sub(m[1], 1, 8) == 'pending:' or string.sub(m[1], 1, 9) == 'building:' then return 'busy' end
if m[1] ~= ARGV[2] then return 'stale' end
local gen = m[2]
local df = gkey(gen, 'df')
if redis.call('HLEN', gkey(gen, 'docs')) ~= tonumber(m[3]) or redis.call('HLEN', df) ~= tonumber(m[5]) then
  drop_index(KEYS[1])
  return 'broken'
end
local out = { 'ok', m[3], m[4] }
for i = 3, #ARGV do
  local postings = gkey(gen, 'p:' .. ARGV[i])
  if redis.call('HLEN', postings) ~= tonumber(redis.call('HGET', df, ARGV[i]) or '0') then
    drop_index(KEYS[1])
    return 'broken'
  end
  out[#out + 1] = redis.call('HGETALL', postings)
end
return out
