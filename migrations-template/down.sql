-- Revert: {{title}}
--
-- Undo everything up.sql does, in reverse order, so that
-- `cargo migrate redo` leaves the schema exactly as `up` made it.

