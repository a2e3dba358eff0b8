-- After the snapshot update. KEYS: index meta, snapshot meta, base name of the snapshot's text buckets. ARGV: base, token, then
-- pairs chunk_id, entry ("length term tf term tf ...", '' for a chunk the batch deleted), one per chunk,
-- its last change in the batch. Each chunk's old postings go; a chunk the snapshot now holds (its text
-- bucket has it) gets the entry's, keeping its document number (a new chunk takes a free one, else the
-- next). Each postings bucket and id bucket touched is rewritten once, whatever the batch holds of it.
-- Then the stamp becomes the snapshot's version. Returns 'ok'; 'lost' when the pending mark is not this
-- token's (another update or a reader dropped it); 'dropped' when the snapshot was rebuilt or is gone, or
-- a key of the index was lost.
--@include keyword-prelude
--@include bucket
local meta = KEYS[1]
local m = redis.call('HMGET', meta, 'stamp', 'build', 'gen', 'n', 'total', 'terms', 'next', 'tid', 'seq', 'bs', 'dk', 'dg')
if m[1] ~= 'pending:' .. ARGV[2] then return 'lost' end
local build, version = snapshot_version(KEYS[2])
local buckets = tonumber(redis.call('HGET', KEYS[2], 'bkz'))
local gen = m[3]
local n, total, terms = tonumber(m[4]), tonumber(m[5]), tonumber(m[6])
local handed, tid, seq = tonumber(m[7]), tonumber(m[8]), (tonumber(m[9]) or 0) + 1
local bs, dk, dg = tonumber(m[10]), tonumber(m[11]), tonumber(m[12])
if not build or build ~= m[2] or not buckets or not counts_hold(gen, n, terms, handed, bs, dk, dg) then
  drop_index(meta)
  return 'dropped'
end
local terms_key, free_key = gkey(gen, 'terms'), gkey(gen, 'free')

-- Edits gathered first, applied once per postings bucket and id bucket.
local removed = {} -- removed[id][b][number] = tf
local added = {} -- added[id][b][number] = tf
local names = {} -- names[id] = term, for ids new in this batch
local id_edits = {} -- id_edits[b][number - b * bs] = { chunk_id, length }, or false for a number freed
local function mark(into, id, number, value)
  local b = floor(number / bs)
  local per_id = into[id]
  if not per_id then
    per_id = {}
    into[id] = per_id
  end
  local per_bucket = per_id[b]
  if not per_bucket then
    per_bucket = {}
    per_id[b] = per_bucket
  end
  per_bucket[number] = value
end
local function edit_id(number, value)
  local b = floor(number / bs)
  id_edits[b] = id_edits[b] or {}
  id_edits[b][number - b * bs] = value
end

for i = 3, #ARGV, 2 do
  local chunk, entry = ARGV[i], ARGV[i + 1]
  local k, g = docs_place(chunk, dk, dg)
  local docs = gkey(gen, 'docs:' .. k)
  local group_chunks, group_entries = get_docs_group(redis.call('HGET', docs, g) or nil)
  local at, old = nil, nil
  for j = 1, #group_chunks do
    if group_chunks[j] == chunk then
      at, old = j, group_entries[j]
      break
    end
  end
  local number
  if old then
    local length, pos, id = 0, 1, 0
    number, pos = get_varint(old, pos)
    length, pos = get_varint(old, pos)
    local ids, tfs = {}, {}
    get_postings(old, pos, 1, ids, tfs)
    for j = 1, #ids do mark(removed, ids[j], number, tfs[j]) end
    n = n - 1
    total = total - length
  end
  local texts = bucket_key(KEYS[3], bucket_of(chunk, buckets))
  if entry ~= '' and redis.call('HEXISTS', texts, chunk) == 1 then
    if not number then
      number = redis.call('RPOP', free_key)
      if number then
        number = tonumber(number)
      else
        number = handed
        handed = handed + 1
      end
    end
    local w = words(entry)
    local length = tonumber(w[1])
    local ids, by_id = {}, {}
    local asked = {}
    for j = 2, #w, 2 do asked[#asked + 1] = w[j] end
    local known = #asked > 0 and redis.call('HMGET', terms_key, unpack(asked)) or {}
    for j = 2, #w, 2 do
      local id = tonumber(known[j / 2] or '0')
      if id == 0 then
        -- Also new when an earlier chunk of this batch took the term in: the terms hash has it now.
        id = tonumber(redis.call('HGET', terms_key, w[j]) or '0')
      end
      if id == 0 then
        tid = tid + 1
        id = tid
        redis.call('HSET', terms_key, w[j], id)
        names[id] = w[j]
        terms = terms + 1
      end
      ids[#ids + 1] = id
      by_id[id] = tonumber(w[j + 1])
      local b = floor(number / bs)
      local same = removed[id] and removed[id][b]
      if same and same[number] == by_id[id] then
        -- The chunk keeps this term at this tf: its posting stays as it is.
        same[number] = nil
      else
        mark(added, id, number, by_id[id])
      end
    end
    tsort(ids)
    local tfs = {}
    for j = 1, #ids do tfs[j] = by_id[ids[j]] end
    local out = {}
    put_varint(out, number)
    put_varint(out, length)
    put_postings(out, ids, tfs, 1)
    if not at then
      at = #group_chunks + 1
      group_chunks[at] = chunk
      redis.call('HINCRBY', docs, '#', 1)
    end
    group_entries[at] = concat(out)
    redis.call('HSET', docs, g, put_docs_group(group_chunks, group_entries))
    edit_id(number, { chunk, length })
    n = n + 1
    total = total + length
  elseif number then
    table.remove(group_chunks, at)
    table.remove(group_entries, at)
    if #group_chunks == 0 then
      redis.call('HDEL', docs, g)
    else
      redis.call('HSET', docs, g, put_docs_group(group_chunks, group_entries))
    end
    redis.call('HINCRBY', docs, '#', -1)
    redis.call('LPUSH', free_key, number)
    edit_id(number, false)
  end
end

-- Postings: per term, each bucket touched decoded, its removals and additions applied, written back.
local broken = false
local touched = {}
for id, per_bucket in pairs(removed) do
  for _, numbers in pairs(per_bucket) do
    if next(numbers) then touched[id] = true end
  end
end
for id in pairs(added) do touched[id] = true end
for id in pairs(touched) do
  local key = gkey(gen, 'p:' .. id)
  local rm, add = removed[id] or {}, added[id] or {}
  local fields, asked = {}, { 'd' }
  for b, numbers in pairs(rm) do
    if next(numbers) and not fields[b] then
      fields[b] = true
      asked[#asked + 1] = b
    end
  end
  for b in pairs(add) do
    if not fields[b] then
      fields[b] = true
      asked[#asked + 1] = b
    end
  end
  local values = redis.call('HMGET', key, unpack(asked))
  local df = tonumber(values[1])
  if names[id] then
    df = 0
  elseif not df then
    -- A term the terms hash holds has a postings hash: without it, the postings key was lost.
    broken = true
    break
  end
  local sets, dels = { 'd', 0 }, {}
  if names[id] then
    sets[#sets + 1] = 't'
    sets[#sets + 1] = names[id]
  end
  for i = 2, #asked do
    local b = asked[i]
    local gone, adds = rm[b] or {}, add[b] or {}
    local add_numbers, add_tfs = {}, {}
    for number in pairs(adds) do add_numbers[#add_numbers + 1] = number end
    tsort(add_numbers)
    for j, number in ipairs(add_numbers) do add_tfs[j] = adds[number] end
    local expected = 0
    for _ in pairs(gone) do expected = expected + 1 end
    local packed, dropped, agrees = edit_bucket(values[i] or nil, b * bs, bs, gone, add_numbers, add_tfs)
    -- A posting to remove that is not there, or one to add that is: the index disagrees with its docs.
    if not agrees or dropped ~= expected then
      broken = true
      break
    end
    df = df - dropped + #add_numbers
    if packed == '' then
      dels[#dels + 1] = b
    else
      sets[#sets + 1] = b
      sets[#sets + 1] = packed
    end
  end
  if broken then break end
  if df == 0 then
    local term = names[id] or redis.call('HGET', key, 't')
    redis.call('UNLINK', key)
    redis.call('HDEL', terms_key, term)
    terms = terms - 1
  else
    sets[2] = df
    redis.call('HSET', key, unpack(sets))
    if #dels > 0 then redis.call('HDEL', key, unpack(dels)) end
  end
end
if broken then
  redis.call('HSET', meta, 'tid', tid, 'next', handed)
  drop_index(meta)
  return 'dropped'
end

for b, edits in pairs(id_edits) do
  local key = gkey(gen, 'ids:' .. b)
  local groups = {}
  for low, value in pairs(edits) do
    local g = floor(low / ID_GROUP)
    groups[g] = groups[g] or {}
    groups[g][low - g * ID_GROUP + 1] = value
  end
  for g, values in pairs(groups) do
    local entries = get_id_group(redis.call('HGET', key, g) or nil)
    for i = 1, ID_GROUP do
      if values[i] ~= nil then entries[i] = values[i] end
    end
    for i = 1, ID_GROUP do
      if entries[i] == nil then entries[i] = false end
    end
    local packed = put_id_group(entries, ID_GROUP)
    if packed == '' then
      redis.call('HDEL', key, g)
    else
      redis.call('HSET', key, g, packed)
    end
  end
  redis.call('HSET', key, '#', seq)
end

redis.call('HSET', meta, 'stamp', version, 'n', n, 'total', total, 'terms', terms, 'next', handed, 'tid', tid, 'seq', seq)
return 'ok'
