-- Reserved for notices (docs/design.md "Beyond the compatible API"), which
-- land on a branch of their own with this file's real content. tern applies
-- migrations only when their numbers are contiguous, so until then this
-- placeholder, which does nothing, lets 008 apply. When the branches meet,
-- the notices file replaces this one (take theirs).
SELECT 1;
