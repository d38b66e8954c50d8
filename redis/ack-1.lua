--[[
  Acknowledges stream entries and deletes them: a settled entry has no further use, and
  deleting it keeps the stream as short as the work still to do.

  KEYS[1]  stream
  ARGV[1]  consumer group
  ARGV[2..] entry ids
  returns  how many entries were deleted
]]
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
