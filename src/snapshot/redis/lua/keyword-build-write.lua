-- Writes part of a build in bulk. KEYS: index meta. ARGV: base, gen, separator, then pairs part, packed:
-- part is `docs`, `df` or `p:<term>`, packed the hash's fields and values each followed by the separator
-- (a character none of them holds). Returns 1, or 0 when the build no longer holds the index (then
-- nothing is written).
--@include keyword-prelude
if redis.call('HGET', KEYS[1], 'stamp') ~= 'building:' .. ARGV[2] then return 0 end
local sep = ARGV[3]
local piece = '([^' .. sep .. ']*)' .. sep
for i = 4, #ARGV, 2 do
  local key = gkey(ARGV[2], ARGV[i])
  local flat, count = {}, 0
  for s in string.gmatch(ARGV[i + 1], piece) do
    count = count + 1
    flat[count] = s
    if count == 2000 then
      redis.call('HSET', key, unpack(flat, 1, count))
      count = 0
    end
  end
  if count > 0 then redis.call('HSET', key, unpack(flat, 1, count)) end
end
return 1
