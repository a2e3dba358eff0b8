-- Writes part of a build in bulk. KEYS: index meta. ARGV: base, gen, term ids handed out, document
-- numbers handed out, bucket size, docs bucket count, docs groups (the whole build's: kept in the meta,
-- so dropping the build finds every key it can have written), then hashes: part (`terms`, `p:<id>`, `ids:<b>` or
-- `docs:<k>`), a count c, then c fields and values. Returns 1, or 0 when the build no longer holds the
-- index (then nothing is written).
--@include keyword-prelude
if redis.call('HGET', KEYS[1], 'stamp') ~= 'building:' .. ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'tid', ARGV[3], 'next', ARGV[4], 'bs', ARGV[5], 'dk', ARGV[6], 'dg', ARGV[7])
local i = 8
while i <= #ARGV do
  local key, count = gkey(ARGV[2], ARGV[i]), tonumber(ARGV[i + 1])
  redis.call('HSET', key, unpack(ARGV, i + 2, i + 1 + 2 * count))
  i = i + 2 + 2 * count
end
return 1
