ALTER TABLE public.meeting_participants
  DROP CONSTRAINT meeting_participants_meeting_user_key,
  DROP CONSTRAINT meeting_participants_meeting_email_key,
  DROP CONSTRAINT meeting_participants_email_lower;
