-- One row per participant and meeting, so upserts have a conflict target.
ALTER TABLE meeting_participants
  ADD CONSTRAINT meeting_participants_meeting_email_key UNIQUE (meeting_id, email);
