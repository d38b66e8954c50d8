--[[
  A leaderboard page after a cursor: the members of a sorted set that come after
  (score, member) in its own order (score ascending, then member bytes ascending), whether
  or not that member is still in the set or still at that score. The tie group at the
  score is a run of indexes ordered by member: found by ZCOUNT, searched by bisection, so a
  page costs O(log n) however many leads share the score.

  KEYS[1]  sorted set
  ARGV[1]  score of the cursor (as Redis prints it: inf, -inf, 0.5, ...)
  ARGV[2]  member of the cursor
  ARGV[3]  how many to return
  returns  member, score, member, score, ... (as ZRANGE WITHSCORES)
]]
local key, score, member, count = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
-- byte order, as Redis orders equal scores (Lua's < on strings follows the locale)
local function after(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local lo = redis.call('ZCOUNT', key, '-inf', '(' .. score)
local hi = lo + redis.call('ZCOUNT', key, score, score)
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  local m = redis.call('ZRANGE', key, mid, mid)[1]
  if after(m, member) then hi = mid else lo = mid + 1 end
end
if count <= 0 then return {} end
return redis.call('ZRANGE', key, lo, lo + count - 1, 'WITHSCORES')
