-- The prelude every keyword index script shares (`--@include keyword-prelude`; docs/snapshot.md, "The
-- keyword index"). Each script runs atomically, touches only keys under one bot's hash tag, and costs
-- O(1) plus O(what it is given) plus O(buckets) for the count checks. Every script takes ARGV[1] = the
-- base name `<prefix>:{bot}:kw` from which the generation's keys are formed:
--   <base>:meta               hash: stamp, gen, build, n, total, terms, next, tid, seq, bs, dk, dg
--   <base>:<gen>:terms        hash: term -> term id (1 .. tid)
--   <base>:<gen>:p:<id>       hash: `t` -> the term, `d` -> how many chunks hold it, and per bucket b of
--                             document numbers (b = floor(number / bs)) the postings of that bucket, packed
--   <base>:<gen>:ids:<b>      hash: `#` -> seq of its last change, and per group g of ID_GROUP numbers
--                             (from b * bs + g * ID_GROUP) their chunk ids and lengths, packed
--   <base>:<gen>:docs:<k>     hash: `#` -> how many chunks it holds, and per group g of dg the docs
--                             entries of its chunks (packed number, length and term ids with their tfs:
--                             what removing a chunk takes away); k and g from the chunk id's SHA-1
--                             (docs_place)
--   <base>:<gen>:free         list: document numbers below `next` that no chunk holds
-- Packed: varints (7 bits a byte, low first). A docs group: per chunk varint(bytes of its id), the id,
-- varint(bytes of its entry), the entry. An id group: per number from the group's first up to
-- its last held one, varint(0) for a number no chunk holds, else varint(bytes of the chunk id + 1), the
-- chunk id, varint(length). Postings, ascending by number: per posting
-- varint((gap - 1) * 2 + (tf > 1 and 1 or 0)) then varint(tf - 2) when tf > 1, gap the distance from the
-- previous number (the first from the block's first number - 1), in blocks (edit_bucket, below). A docs
-- entry: varint(number), varint(length), then its term ids ascending coded the same way (the first gap
-- from 0).
-- `stamp` is the snapshot version the index describes exactly, `pending:<token>` while a stream update
-- runs, or `building:<gen>` while a build runs; readers use the index only when it equals their version.
-- Here: the key names, the varint codec, the count checks, dropping a generation or an index, and the
-- snapshot version.
-- Library functions as locals: a global read in a Redis script goes through its protected globals
-- table, which costs more than the byte loops below.
local sbyte, schar, ssub, concat, tsort = string.byte, string.char, string.sub, table.concat, table.sort
local floor, ceil, tonumber, pairs, ipairs, next, unpack = math.floor, math.ceil, tonumber, pairs, ipairs, next, unpack
local base = ARGV[1]
local function gkey(gen, part) return base .. ':' .. gen .. ':' .. part end

local function words(entry)
  local out = {}
  for w in string.gmatch(entry, '%S+') do out[#out + 1] = w end
  return out
end

local function put_varint(out, v)
  while v >= 128 do
    out[#out + 1] = schar(v % 128 + 128)
    v = floor(v / 128)
  end
  out[#out + 1] = schar(v)
end

-- The varint at pos of s and the position after it.
local function get_varint(s, pos)
  local v, mul = 0, 1
  while true do
    local b = sbyte(s, pos)
    pos = pos + 1
    if b < 128 then return v + b * mul, pos end
    v = v + (b - 128) * mul
    mul = mul * 128
  end
end

-- Appends ascending numbers with their tfs, gaps from start - 1 (see above).
local function put_postings(out, numbers, tfs, start)
  local prev = start - 1
  for i = 1, #numbers do
    local tf = tfs[i]
    put_varint(out, (numbers[i] - prev - 1) * 2 + (tf > 1 and 1 or 0))
    if tf > 1 then put_varint(out, tf - 2) end
    prev = numbers[i]
  end
end

-- Decodes what put_postings wrote from position pos of s into numbers and tfs.
local function get_postings(s, pos, start, numbers, tfs)
  local prev = start - 1
  local len = #s
  while pos <= len do
    local code, tf
    code, pos = get_varint(s, pos)
    if code % 2 == 1 then
      tf, pos = get_varint(s, pos)
      tf = tf + 2
    else
      tf = 1
    end
    prev = prev + floor(code / 2) + 1
    numbers[#numbers + 1] = prev
    tfs[#tfs + 1] = tf
  end
end

-- Applies removals (the numbers of gone; `pending` of them in s) and additions (ascending add_numbers
-- with their add_tfs) to packed postings s starting at start (nil: none), in one pass that builds no
-- table of them: runs between edits are copied as they are, only the posting after an edit has its gap
-- written again, and the scan stops once no edit is left. Returns the packed result, how many were
-- removed, and false when an addition is already there and not removed (the index disagrees with its
-- docs entries).
local function edit_postings(s, start, gone, pending, add_numbers, add_tfs)
  local out = {}
  local last, prev = start - 1, start - 1
  local copy_from, pos, len = 1, 1, s and #s or 0
  local dropped, a = 0, 1
    local function emit(number, tf)
    put_varint(out, (number - last - 1) * 2 + (tf > 1 and 1 or 0))
    if tf > 1 then put_varint(out, tf - 2) end
    last = number
  end
  while pos <= len do
    if pending == 0 and add_numbers[a] == nil and last == prev then break end
    local here = pos
    local code, tf = sbyte(s, pos), 1
    if code < 128 then
      pos = pos + 1
    else
      code, pos = get_varint(s, pos)
    end
    local odd = code % 2
    if odd == 1 then
      tf, pos = get_varint(s, pos)
      tf = tf + 2
    end
    local before = prev
    local number = prev + (code - odd) / 2 + 1
    prev = number
    local adding = add_numbers[a] ~= nil and add_numbers[a] <= number
    local removing = gone[number]
    if adding or removing or last ~= before then
      if here > copy_from then out[#out + 1] = ssub(s, copy_from, here - 1) end
      while add_numbers[a] ~= nil and add_numbers[a] < number do
        emit(add_numbers[a], add_tfs[a])
        a = a + 1
      end
      if removing then
        dropped = dropped + 1
        pending = pending - 1
        if add_numbers[a] == number then
          emit(number, add_tfs[a])
          a = a + 1
        end
      elseif add_numbers[a] == number then
        return nil, dropped, false
      else
        emit(number, tf)
      end
      copy_from = pos
    else
      last = number
    end
  end
  if copy_from <= len then out[#out + 1] = ssub(s, copy_from, len) end
  while add_numbers[a] ~= nil do
    emit(add_numbers[a], add_tfs[a])
    a = a + 1
  end
  return concat(out), dropped, true
end

-- Blocks a bucket's postings are packed in: a bucket's value is the byte length of each block (a varint
-- each), then the blocks, block j (from 1) holding the postings of numbers start + (j - 1) * size up to
-- start + j * size - 1, size = ceil(bs / BLOCKS), gaps counted from the block's first number - 1. An edit
-- scans and rewrites only the blocks it touches and copies the others as they are.
local BLOCKS = {{KEYWORD_POSTING_BLOCKS}}

-- The byte lengths of a bucket value's blocks and where the first block starts (one string.byte when
-- every length is below 128, as it is in all but crowded buckets).
local function block_lengths(s)
  local lengths = { sbyte(s, 1, BLOCKS) }
  local short = true
  for j = 1, BLOCKS do
    if lengths[j] >= 128 then
      short = false
      break
    end
  end
  if short then return lengths, BLOCKS + 1 end
  local pos = 1
  for j = 1, BLOCKS do lengths[j], pos = get_varint(s, pos) end
  return lengths, pos
end

-- edit_postings over the blocks of a bucket's packed value s (nil: none) starting at start, bs numbers:
-- only the blocks touched are scanned; the runs of blocks between them are copied in one piece each.
local function edit_bucket(s, start, bs, gone, add_numbers, add_tfs)
  local size = ceil(bs / BLOCKS)
  local lengths, first
  if s then
    lengths, first = block_lengths(s)
  else
    lengths, first, s = {}, 1, ''
    for j = 1, BLOCKS do lengths[j] = 0 end
  end
  -- The blocks touched, and each one's additions (ascending, as add_numbers are).
  local touched, adds, pending = {}, {}, {}
  for number in pairs(gone) do
    local j = floor((number - start) / size) + 1
    touched[j] = true
    pending[j] = (pending[j] or 0) + 1
  end
  for i, number in ipairs(add_numbers) do
    local j = floor((number - start) / size) + 1
    touched[j] = true
    local block = adds[j]
    if not block then
      block = { {}, {} }
      adds[j] = block
    end
    block[1][#block[1] + 1] = number
    block[2][#block[2] + 1] = add_tfs[i]
  end
  local pieces, dropped, total = {}, 0, 0
  local pos, copy_from = first, first
  for j = 1, BLOCKS do
    local length = lengths[j]
    if touched[j] then
      if pos > copy_from then pieces[#pieces + 1] = ssub(s, copy_from, pos - 1) end
      local block = length > 0 and ssub(s, pos, pos + length - 1) or nil
      local added = adds[j] or { {}, {} }
      local edited, removed, agrees =
        edit_postings(block, start + (j - 1) * size, gone, pending[j] or 0, added[1], added[2])
      if not agrees then return nil, dropped, false end
      dropped = dropped + removed
      pieces[#pieces + 1] = edited
      lengths[j] = #edited
      copy_from = pos + length
    end
    pos = pos + length
    total = total + lengths[j]
  end
  if total == 0 then return '', dropped, true end
  if pos > copy_from then pieces[#pieces + 1] = ssub(s, copy_from, pos - 1) end
  local header, short = {}, true
  for j = 1, BLOCKS do
    if lengths[j] >= 128 then short = false end
  end
  if short then
    header = schar(unpack(lengths))
  else
    for j = 1, BLOCKS do put_varint(header, lengths[j]) end
    header = concat(header)
  end
  return header .. concat(pieces), dropped, true
end

local ID_GROUP = {{KEYWORD_ID_GROUP}}

-- The entries of a packed id group (s, or nil: none): entries[i] = { chunk_id, length } or false, i from 1.
local function get_id_group(s)
  local entries, pos = {}, 1
  if not s then return entries end
  local len = #s
  while pos <= len do
    local size
    size, pos = get_varint(s, pos)
    if size == 0 then
      entries[#entries + 1] = false
    else
      local chunk = ssub(s, pos, pos + size - 2)
      local length
      length, pos = get_varint(s, pos + size - 1)
      entries[#entries + 1] = { chunk, length }
    end
  end
  return entries
end

-- Packs id group entries (up to index `count`), leaving out the free numbers after the last held one;
-- '' when none is held.
local function put_id_group(entries, count)
  local last = 0
  for i = 1, count do
    if entries[i] then last = i end
  end
  local out = {}
  for i = 1, last do
    local entry = entries[i]
    if entry then
      put_varint(out, #entry[1] + 1)
      out[#out + 1] = entry[1]
      put_varint(out, entry[2])
    else
      out[#out + 1] = schar(0)
    end
  end
  return concat(out)
end

-- The docs bucket (of dk) and group (of dg) of a chunk id: its SHA-1's first 32 bits modulo dk (as the
-- snapshot buckets its ids) and next 32 bits modulo dg (docsPlace in keyword-index-build.ts computes the same).
local function docs_place(chunk, dk, dg)
  local sha = redis.sha1hex(chunk)
  local k = dk > 1 and tonumber(ssub(sha, 1, 8), 16) % dk or 0
  local g = dg > 1 and tonumber(ssub(sha, 9, 16), 16) % dg or 0
  return k, g
end

-- The chunk ids and entries of a packed docs group (s, or nil: none), in order.
local function get_docs_group(s)
  local chunks, entries, pos = {}, {}, 1
  if not s then return chunks, entries end
  local len = #s
  while pos <= len do
    local size
    size, pos = get_varint(s, pos)
    chunks[#chunks + 1] = ssub(s, pos, pos + size - 1)
    size, pos = get_varint(s, pos + size)
    entries[#entries + 1] = ssub(s, pos, pos + size - 1)
    pos = pos + size
  end
  return chunks, entries
end

local function put_docs_group(chunks, entries)
  local out = {}
  for i = 1, #chunks do
    put_varint(out, #chunks[i])
    out[#out + 1] = chunks[i]
    put_varint(out, #entries[i])
    out[#out + 1] = entries[i]
  end
  return concat(out)
end

-- Id buckets below `next` document numbers of bs each.
local function id_buckets(handed, bs)
  return ceil(handed / bs)
end

-- UNLINKs keys in calls of at most 1000.
local function unlink_all(keys)
  for i = 1, #keys, 1000 do
    redis.call('UNLINK', unpack(keys, i, math.min(i + 999, #keys)))
  end
end

-- Deletes every key generation gen can have, given its term ids handed out, document numbers handed
-- out, bucket size and docs bucket count (any of them lost or never written: UNLINK skips it).
local function drop_gen(gen, tid, handed, bs, dk)
  local keys = { gkey(gen, 'terms'), gkey(gen, 'free') }
  for id = 1, tid do keys[#keys + 1] = gkey(gen, 'p:' .. id) end
  for k = 0, dk - 1 do keys[#keys + 1] = gkey(gen, 'docs:' .. k) end
  if bs > 0 then
    for b = 0, id_buckets(handed, bs) - 1 do keys[#keys + 1] = gkey(gen, 'ids:' .. b) end
  end
  unlink_all(keys)
end

-- Deletes every key of the index and its meta hash (a broken index leaves no postings behind).
-- An index whose meta has no `bs` keeps a hash per term's postings keyed by chunk id, named by its `df`
-- hash (term -> document frequency), and a `docs` hash: those are its keys.
local function drop_index(meta)
  local m = redis.call('HMGET', meta, 'gen', 'tid', 'next', 'bs', 'dk')
  if m[1] and m[4] then
    drop_gen(m[1], tonumber(m[2] or '0'), tonumber(m[3] or '0'), tonumber(m[4]), tonumber(m[5] or '0'))
  elseif m[1] then
    local keys = { gkey(m[1], 'df'), gkey(m[1], 'docs') }
    for _, term in ipairs(redis.call('HKEYS', keys[1])) do keys[#keys + 1] = gkey(m[1], 'p:' .. term) end
    unlink_all(keys)
  end
  redis.call('UNLINK', meta)
end

-- Whether the generation's keys agree with the meta's counts, so that no key of it was lost: the terms
-- hash holds `terms` terms, every docs bucket exists (its `#` count is never deleted) and they count `n`
-- chunks, every id bucket exists (its tag is never
-- deleted), and the free list holds the numbers below `next` that no chunk holds. (A lost postings hash
-- shows when it is read or edited: its term is in the terms hash.)
local function counts_hold(gen, n, terms, handed, bs, dk, dg)
  if not (n and terms and handed and bs and dk and dg) then return false end
  if redis.call('HLEN', gkey(gen, 'terms')) ~= terms then return false end
  if redis.call('LLEN', gkey(gen, 'free')) ~= handed - n then return false end
  local held = 0
  for k = 0, dk - 1 do
    local count = tonumber(redis.call('HGET', gkey(gen, 'docs:' .. k), '#'))
    if not count then return false end
    held = held + count
  end
  if held ~= n then return false end
  for b = 0, id_buckets(handed, bs) - 1 do
    if redis.call('EXISTS', gkey(gen, 'ids:' .. b)) == 0 then return false end
  end
  return true
end

-- The same loss checks in three commands, for a read: the terms hash's and free list's lengths, and one
-- EXISTS of every docs and id bucket (each always exists: its `#` count or tag is never deleted). A key
-- is lost whole, so this finds every loss `counts_hold` finds; the sum of the docs counts, which only an
-- update that stopped half-way could get wrong, is left to the updates, which check it first.
local function read_counts_hold(gen, n, terms, handed, bs, dk, dg)
  if not (n and terms and handed and bs and dk and dg) then return false end
  if redis.call('HLEN', gkey(gen, 'terms')) ~= terms then return false end
  if redis.call('LLEN', gkey(gen, 'free')) ~= handed - n then return false end
  local names = {}
  for k = 0, dk - 1 do names[#names + 1] = gkey(gen, 'docs:' .. k) end
  for b = 0, id_buckets(handed, bs) - 1 do names[#names + 1] = gkey(gen, 'ids:' .. b) end
  for i = 1, #names, 1000 do
    local last = math.min(i + 999, #names)
    if redis.call('EXISTS', unpack(names, i, last)) ~= last - i + 1 then return false end
  end
  return true
end

-- The snapshot's build and version (build:seq), or nil when it has no meta hash.
local function snapshot_version(snapshot_meta)
  local s = redis.call('HMGET', snapshot_meta, 'build', 'seq')
  if not s[1] then return nil end
  return s[1], s[1] .. ':' .. (s[2] or '0')
end
