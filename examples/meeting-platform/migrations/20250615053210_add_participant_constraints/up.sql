-- Participant constraints
--
-- - one row per (meeting, email) and per (meeting, user), so that
--   `INSERT ... ON CONFLICT` upserts have a conflict target
-- - emails are stored lower case

UPDATE public.meeting_participants SET email = lower(email) WHERE email <> lower(email);
ALTER TABLE public.meeting_participants
  ADD CONSTRAINT meeting_participants_email_lower CHECK (email = lower(email)),
  ADD CONSTRAINT meeting_participants_meeting_email_key UNIQUE (meeting_id, email),
  ADD CONSTRAINT meeting_participants_meeting_user_key UNIQUE (meeting_id, user_id);
